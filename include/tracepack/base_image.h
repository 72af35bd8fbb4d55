// An existing container image (or a root directory) given as `from:`: the
// place a spec's tests run in and the file system a bundle is taken from.
// open_base_image lays the image's file system out in a working directory
// and reads its configuration. See docs/images.md.
#pragma once

#include <cstdint>
#include <string>

#include "tracepack/image_config.h"

namespace tracepack {

/// What `from:` names, opened: where its file system lies and what its config says.
struct BaseImage {
  std::string reference;      ///< as given ("img:1.0", "app.tar", "rootfs/")
  std::string kind;           ///< "oci-layout", "oci-archive", "docker-archive" or "root"
  std::string root;           ///< absolute directory holding the image's file system (the unpacked layers, or the root directory given)
  ImageConfig config;         ///< from the image's config: env, entrypoint, cmd, workdir, user, labels, exposed_ports, architecture, os
                              ///< (image_config.h); empty for "root"
  std::uint64_t bytes = 0;    ///< the file system's size uncompressed: the sum of its regular files' sizes (each hard-linked inode once)
  std::uint64_t files = 0;    ///< its regular files
  std::uint64_t skipped = 0;  ///< device nodes, FIFOs and sockets the layers held, not created in `root`
};

/// Opens `reference`: an OCI image layout directory ("DIR", or "DIR:TAG" picking the manifest whose
/// org.opencontainers.image.ref.name annotation is TAG; with no TAG the layout must hold exactly one
/// manifest, else the error lists the tags), an oci-archive tar (a tar of such a layout, "FILE" or
/// "FILE:TAG"), a docker-archive tar (manifest.json with Config/RepoTags/Layers, as docker save,
/// podman save and skopeo copy docker-archive: write; "FILE" or "FILE:NAME:TAG" choosing among RepoTags),
/// or a plain root directory (no oci-layout file: used in place, nothing copied). Image layers are
/// applied in order into `work_dir` (an existing empty directory the caller owns and removes) and
/// become `root`. Throws Error naming the file and what is wrong.
///
/// The reference is split at the first ':' whose left part exists when the
/// whole does not. Manifest lists are followed to the manifest for linux and
/// this machine's architecture. Layers (tar, gzip, zstd...) are applied as
/// overlayfs stacks them (OCI whiteouts, opaque directories), never writing
/// or deleting outside `root`; an archive's own files go to work_dir/.layout,
/// the layers to work_dir/rootfs.
BaseImage open_base_image(const std::string& reference, const std::string& work_dir);

/// The file or directory `reference` names, without its tag (split as
/// open_base_image splits it): what an output must never replace. Throws
/// Error when it names nothing that exists.
std::string base_image_path(const std::string& reference);

}  // namespace tracepack
