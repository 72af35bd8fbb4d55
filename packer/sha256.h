// SHA-256 (and dpkg's MD5), the one use of OpenSSL's libcrypto in packer/ (sha256.cc): the
// manifest's per-file digests, the image's content addresses and diff's
// content comparison all go through it. Internal to packer/.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, opaque outside sha256.cc

namespace tracepack {

/// An incremental SHA-256, reusable: reset() starts a new digest.
class Sha256 {
 public:
  /// Starts a digest. Throws Error "sha256: cannot allocate a digest context"
  /// or "sha256: cannot start a digest".
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  /// Starts a new digest, forgetting what was given. Throws like the constructor.
  void reset();
  /// Adds `size` bytes. Throws Error "sha256: cannot update a digest".
  void update(const void* data, std::size_t size);
  /// The digest of everything given since the last start, as 64 lower-case
  /// hex digits; reset() before the next use. Throws Error "sha256: cannot
  /// finish a digest".
  std::string hex();

 public:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };

 private:
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

/// An MD5, for dpkg's md5sums files only (what scanners compare); never a
/// content address. Throws Error "md5: ..." as Sha256 does.
class Md5 {
 public:
  Md5();
  ~Md5();
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;

  void update(const void* data, std::size_t size);
  /// 32 lower-case hex digits of everything given; the object is spent.
  std::string hex();

 private:
  std::unique_ptr<evp_md_ctx_st, Sha256::Free> ctx_;
};

}  // namespace tracepack
