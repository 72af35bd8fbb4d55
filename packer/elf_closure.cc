// The shared-library closure of ELF files, found the way glibc 2.36's ld.so
// (elf/dl-load.c, elf/dl-cache.c) finds it on x86 Debian, without running
// anything.
//
// Each root is simulated as its own process. The root is the main link map;
// its PT_INTERP is the first dependency (resolved through the merged-/usr
// symlinks, component by component, keeping every link met). The other
// dependencies are mapped breadth-first: every object of the search list, in
// order, has each DT_NEEDED entry mapped, and a newly loaded object joins the
// end of the list. That is the order of ld.so's _dl_map_object_deps.
//
// Mapping one name first asks the objects already loaded: a name matches an
// object it was once requested as, the object's path or its DT_SONAME (so
// libc's "ld-linux-x86-64.so.2" is the interpreter). A name with a '/' is a
// path, relative to the working directory; dynamic string tokens are
// expanded in it and nowhere else in a name. Any other name is searched:
//   1. DT_RPATH of the requester, then of the object that loaded it, up to
//      the executable, and the executable's at last; skipped entirely when the
//      requester has DT_RUNPATH (RPATH is transitive, RUNPATH is not). An
//      object with both ignores its DT_RPATH.
//   2. LD_LIBRARY_PATH (LoaderConfig::library_path; ':' and ';' separate).
//   3. DT_RUNPATH of the requester only.
//   4. /etc/ld.so.cache, unless the requester (or the executable) has
//      DF_1_NODEFLIB and the entry lies in a default directory.
//   5. The built-in default directories, unless DF_1_NODEFLIB.
// A file found in a directory of another ELF class or machine is passed over
// ("wrong ELF class" in LD_DEBUG) and the search goes on; a file that is no
// ELF object at all stops the search, as it stops ld.so. A file that is
// already loaded under another name (same device and inode) is not loaded
// again.
//
// In every directory of steps 1, 2, 3 and 5 ld.so tries subdirectories
// first: glibc-hwcaps/x86-64-v4, -v3, -v2 (those the CPU supports, best
// first), then the legacy hardware-capability directories glibc 2.36 still
// searches: every subset of {tls, platform, hwcap names} from the largest
// down, e.g. tls/x86_64/x86_64, tls/x86_64, tls, x86_64/x86_64, x86_64, then
// the directory itself. LD_DEBUG=libs shows this exact list on this host.
// Dynamic string tokens ($X or ${X}) in search paths: $ORIGIN is the
// directory of the object's path as opened (symlinks in it not followed),
// except for an executable root, whose origin comes from /proc/self/exe and
// so is fully resolved (ldd differs here: it runs the loader on the name); $LIB is Debian's multiarch "lib/x86_64-linux-gnu"
// ("lib/i386-linux-gnu" for i386); $PLATFORM is the kernel's AT_PLATFORM
// ("x86_64"), which glibc replaces by "haswell" or "xeon_phi" on Intel CPUs
// with the matching features. An empty path element means the working
// directory; relative directories are relative to it too.
//
// The ld.so cache is read in its "glibc-ld.so.cache1.1" format (alone, or
// after the old "ld.so-1.7.0" table). An entry is usable when its flags are
// the running loader's (libc6 + x86-64 for 64-bit, libc6 or plain ELF for
// i386); entries for a glibc-hwcaps subdirectory come first in the cache and
// the best one the CPU supports wins; legacy hwcap entries need bits the CPU
// has. ld.so never reads /etc/ld.so.conf, only the cache ldconfig built from
// it, and without a cache it goes straight to the default directories. When
// use_ld_so_cache is false (a tree whose cache is absent or stale), the
// directories of <root>/etc/ld.so.conf and its `include` globs are searched
// in the cache's place instead, the way ldconfig would have indexed them
// (found_via "ld.so.cache").
//
// Paths are in the loader's view of LoaderConfig::root: a symlink's absolute
// target and ".." stop at that root, and reported paths do not include it.
// Relative paths are relative to the working directory when root is "/" and
// to the root's "/" otherwise.
#include "tracepack/elf_closure.h"

#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>

#include "tracepack/error.h"
#include "tracepack/path_resolution.h"

namespace tracepack {
namespace {

// ---------------------------------------------------------------------------
// Paths inside the loader's root

PathBytes host_path(const PathBytes& root, std::string_view path) {
  if (root.empty() || root == "/") return PathBytes(path);
  PathBytes out = root;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out.append(path);
}

PathBytes join(std::string_view dir, std::string_view name) {
  PathBytes out(dir);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  return out.append(name);
}

PathBytes make_absolute(const PathBytes& cwd, std::string_view path) {
  return !path.empty() && path.front() == '/' ? PathBytes(path) : join(cwd, path);
}

// ---------------------------------------------------------------------------
// Reading ELF objects

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

struct ElfHandle {
  Elf* elf = nullptr;
  ~ElfHandle() {
    if (elf != nullptr) elf_end(elf);
  }
};

// What the loader reads of an object: header identity and the dynamic
// section, located through the program headers as ld.so does (section
// headers may be stripped).
struct ElfFacts {
  int elf_class = ELFCLASSNONE;
  int data = ELFDATANONE;
  unsigned machine = EM_NONE;
  PathBytes interp;
  std::vector<std::string> needed;
  std::optional<std::string> rpath;  // already dropped when DT_RUNPATH exists
  std::optional<std::string> runpath;
  std::string soname;
  bool nodeflib = false;
};

struct DynamicRefs {
  std::vector<GElf_Xword> needed;
  std::optional<GElf_Xword> rpath, runpath, soname;
  GElf_Addr strtab = 0;
  GElf_Xword strsz = 0;
};

std::optional<std::string> string_at(Elf_Data* strings, GElf_Xword offset) {
  if (strings == nullptr || offset >= strings->d_size) return std::nullopt;
  const char* begin = static_cast<const char*>(strings->d_buf) + offset;
  const void* end = std::memchr(begin, '\0', strings->d_size - offset);
  if (end == nullptr) return std::nullopt;
  return std::string(begin, static_cast<const char*>(end));
}

// The file offset of `size` bytes at virtual address `addr`, from PT_LOAD.
std::optional<GElf_Off> file_offset(const std::vector<GElf_Phdr>& phdrs, GElf_Addr addr, GElf_Xword size) {
  for (const GElf_Phdr& ph : phdrs) {
    if (ph.p_type != PT_LOAD || addr < ph.p_vaddr) continue;
    GElf_Addr delta = addr - ph.p_vaddr;
    if (delta <= ph.p_filesz && size <= ph.p_filesz - delta) return ph.p_offset + delta;
  }
  return std::nullopt;
}

DynamicRefs read_dynamic(Elf* elf, const GElf_Phdr& ph, ElfFacts& facts) {
  DynamicRefs refs;
  Elf_Data* data = elf_getdata_rawchunk(elf, static_cast<int64_t>(ph.p_offset), ph.p_filesz, ELF_T_DYN);
  if (data == nullptr) return refs;
  GElf_Dyn dyn;
  for (int i = 0; gelf_getdyn(data, i, &dyn) != nullptr && dyn.d_tag != DT_NULL; ++i) {
    switch (dyn.d_tag) {
      case DT_NEEDED:
        refs.needed.push_back(dyn.d_un.d_val);
        break;
      case DT_RPATH:
        refs.rpath = dyn.d_un.d_val;
        break;
      case DT_RUNPATH:
        refs.runpath = dyn.d_un.d_val;
        break;
      case DT_SONAME:
        refs.soname = dyn.d_un.d_val;
        break;
      case DT_STRTAB:
        refs.strtab = dyn.d_un.d_ptr;
        break;
      case DT_STRSZ:
        refs.strsz = dyn.d_un.d_val;
        break;
      case DT_FLAGS_1:
        facts.nodeflib = (dyn.d_un.d_val & DF_1_NODEFLIB) != 0;
        break;
      default:
        break;
    }
  }
  return refs;
}

void resolve_dynamic_strings(Elf* elf, const std::vector<GElf_Phdr>& phdrs, const DynamicRefs& refs, ElfFacts& facts) {
  std::optional<GElf_Off> offset = file_offset(phdrs, refs.strtab, refs.strsz);
  if (!offset || refs.strsz == 0) return;
  Elf_Data* strings = elf_getdata_rawchunk(elf, static_cast<int64_t>(*offset), refs.strsz, ELF_T_BYTE);
  for (GElf_Xword needed : refs.needed)
    if (std::optional<std::string> name = string_at(strings, needed)) facts.needed.push_back(*name);
  if (refs.runpath) facts.runpath = string_at(strings, *refs.runpath);
  // get-dynamic-info.h: with both present, DT_RPATH is ignored.
  else if (refs.rpath)
    facts.rpath = string_at(strings, *refs.rpath);
  if (refs.soname) facts.soname = string_at(strings, *refs.soname).value_or("");
}

void read_program_headers(Elf* elf, ElfFacts& facts) {
  std::size_t count = 0;
  if (elf_getphdrnum(elf, &count) != 0) return;
  std::vector<GElf_Phdr> phdrs(count);
  for (std::size_t i = 0; i < count; ++i)
    if (gelf_getphdr(elf, static_cast<int>(i), &phdrs[i]) == nullptr) return;
  for (const GElf_Phdr& ph : phdrs) {
    if (ph.p_type == PT_INTERP) {
      Elf_Data* data = elf_getdata_rawchunk(elf, static_cast<int64_t>(ph.p_offset), ph.p_filesz, ELF_T_BYTE);
      if (std::optional<std::string> interp = string_at(data, 0)) facts.interp = *interp;
    } else if (ph.p_type == PT_DYNAMIC) {
      resolve_dynamic_strings(elf, phdrs, read_dynamic(elf, ph, facts), facts);
    }
  }
}

// Reads `host`; nullopt when it is no ELF file. Throws Error when it cannot
// be opened, naming it as `shown`.
std::optional<ElfFacts> read_elf(const PathBytes& host, const PathBytes& shown) {
  static const bool initialised = elf_version(EV_CURRENT) != EV_NONE;
  if (!initialised) throw Error("libelf: version mismatch");
  Fd fd{open(host.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) throw_system_error(shown);
  ElfHandle handle{elf_begin(fd.fd, ELF_C_READ, nullptr)};
  GElf_Ehdr ehdr;
  if (handle.elf == nullptr || elf_kind(handle.elf) != ELF_K_ELF || gelf_getehdr(handle.elf, &ehdr) == nullptr) return std::nullopt;
  ElfFacts facts;
  facts.elf_class = ehdr.e_ident[EI_CLASS];
  facts.data = ehdr.e_ident[EI_DATA];
  facts.machine = ehdr.e_machine;
  read_program_headers(handle.elf, facts);
  return facts;
}

// ---------------------------------------------------------------------------
// dlopen() hints: .note.dlopen notes and library names in read-only data

constexpr GElf_Word kNoteDlopenType = 0x407c0c0a;  // NT_FDO_DLOPEN_METADATA

// "lib" NAME ".so" (".N")*: what a dlopen() argument without '/' looks like.
bool soname_like(std::string_view s) {
  if (s.size() < 7 || s.size() > 255 || !s.starts_with("lib")) return false;
  std::size_t so = s.find(".so");
  if (so == std::string_view::npos || so == 3) return false;
  for (char c : s.substr(3, so - 3))
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("_+-.").find(c) == std::string_view::npos) return false;
  std::string_view rest = s.substr(so + 3);
  while (!rest.empty()) {
    if (rest.size() < 2 || rest.front() != '.' || !std::isdigit(static_cast<unsigned char>(rest[1]))) return false;
    rest.remove_prefix(1);
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) rest.remove_prefix(1);
  }
  return true;
}

void read_notes(Elf_Data* data, ElfDlopenHints& hints) {
  GElf_Nhdr note;
  std::size_t offset = 0, name_at = 0, desc_at = 0;
  while (offset < data->d_size && (offset = gelf_getnote(data, offset, &note, &name_at, &desc_at)) != 0) {
    const char* base = static_cast<const char*>(data->d_buf);
    if (note.n_type != kNoteDlopenType || std::string_view(base + name_at, note.n_namesz) != std::string_view("FDO", 4)) continue;
    std::string_view desc(base + desc_at, note.n_descsz);
    hints.notes.emplace_back(desc.substr(0, desc.find('\0')));
  }
}

void read_sonames(Elf_Data* data, std::set<std::string>& seen, ElfDlopenHints& hints) {
  const char* at = static_cast<const char*>(data->d_buf);
  const char* end = at + data->d_size;
  while (at < end) {
    const char* nul = static_cast<const char*>(std::memchr(at, '\0', static_cast<std::size_t>(end - at)));
    if (nul == nullptr) break;  // not NUL-terminated: no C string
    std::string_view s(at, static_cast<std::size_t>(nul - at));
    if (soname_like(s) && seen.insert(std::string(s)).second) hints.sonames.emplace_back(s);
    at = nul + 1;
  }
}

// ---------------------------------------------------------------------------
// The loader that would run: its ABI, hardware capabilities and defaults

struct LoaderAbi {
  int elf_class = ELFCLASS64;
  unsigned machine = EM_X86_64;
  std::string lib;                      // $LIB
  std::string platform;                 // $PLATFORM
  std::vector<std::string> hwcaps;      // glibc-hwcaps subdirectories, best first
  std::vector<std::string> subdirs;     // tried in each search directory, "" (itself) last
  std::vector<PathBytes> default_dirs;  // built-in system directories
  std::int32_t cache_flags = 0x0303;    // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64
  std::uint64_t cache_hwcap_bits = 0;   // legacy hwcap bits a cache entry may require
};

constexpr std::uint64_t kHwcapX86Sse2 = 1u << 0;
constexpr std::uint64_t kHwcapX86_64 = 1u << 1;
constexpr std::uint64_t kHwcapX86Avx512_1 = 1u << 2;
constexpr std::uint64_t kCacheHwcapTls = 1ull << 63;

#if defined(__x86_64__) || defined(__i386__)
// The CPUID bits behind glibc's x86-64 ISA levels (sysdeps/x86/isa-level.h)
// and its "haswell" platform. Read directly: clang's __builtin_cpu_supports
// knows neither the levels nor lzcnt and movbe. AVX and AVX-512 count only
// when the kernel saves their registers (XCR0), as glibc's "usable" does.
struct CpuidBits {
  unsigned leaf1_ecx = 0;  // sse3 0, ssse3 9, fma 12, cx16 13, sse4.1 19, sse4.2 20, movbe 22, popcnt 23, osxsave 27, avx 28, f16c 29
  unsigned leaf7_ebx = 0;  // bmi1 3, avx2 5, bmi2 8, avx512f 16, avx512dq 17, avx512cd 28, avx512bw 30, avx512vl 31
  unsigned ext1_ecx = 0;   // lahf_lm 0, lzcnt 5
  std::uint64_t xcr0 = 0;
};

CpuidBits read_cpuid() {
  CpuidBits bits;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) != 0) bits.leaf1_ecx = c;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) != 0) bits.leaf7_ebx = b;
  if (__get_cpuid(0x80000001, &a, &b, &c, &d) != 0) bits.ext1_ecx = c;
  if ((bits.leaf1_ecx & (1u << 27)) != 0) {
    unsigned lo = 0, hi = 0;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    bits.xcr0 = (std::uint64_t{hi} << 32) | lo;
  }
  return bits;
}

bool all_bits(unsigned word, std::initializer_list<int> bits) {
  for (int bit : bits)
    if ((word & (1u << bit)) == 0) return false;
  return true;
}

bool avx2_usable(const CpuidBits& c) { return all_bits(c.leaf1_ecx, {27, 28}) && (c.xcr0 & 0x6) == 0x6 && all_bits(c.leaf7_ebx, {5}); }

// 2, 3 or 4: x86-64-v2, -v3, -v4.
bool x86_64_level(const CpuidBits& c, int level) {
  bool v2 = all_bits(c.leaf1_ecx, {0, 9, 13, 19, 20, 23}) && all_bits(c.ext1_ecx, {0});
  if (level <= 2 || !v2) return v2;
  bool v3 = avx2_usable(c) && all_bits(c.leaf1_ecx, {12, 22, 29}) && all_bits(c.leaf7_ebx, {3, 8}) && all_bits(c.ext1_ecx, {5});
  if (level == 3 || !v3) return v3;
  return (c.xcr0 & 0xe6) == 0xe6 && all_bits(c.leaf7_ebx, {16, 17, 28, 30, 31});
}
#endif

bool cpu_has(const char* feature) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  static const CpuidBits cpuid = read_cpuid();
  if (std::strcmp(feature, "intel") == 0) return __builtin_cpu_is("intel");
  if (std::strcmp(feature, "x86-64-v2") == 0) return x86_64_level(cpuid, 2);
  if (std::strcmp(feature, "x86-64-v3") == 0) return x86_64_level(cpuid, 3);
  if (std::strcmp(feature, "x86-64-v4") == 0) return x86_64_level(cpuid, 4);
  if (std::strcmp(feature, "avx512_1") == 0)
    return __builtin_cpu_supports("avx512cd") && !__builtin_cpu_supports("avx512er") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  if (std::strcmp(feature, "xeon_phi") == 0)
    return __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512er") && __builtin_cpu_supports("avx512pf");
  if (std::strcmp(feature, "haswell") == 0)
    return avx2_usable(cpuid) && all_bits(cpuid.leaf1_ecx, {12, 22, 23}) && all_bits(cpuid.leaf7_ebx, {3, 8}) &&
           all_bits(cpuid.ext1_ecx, {5});
#else
  (void)feature;
#endif
  return false;
}

// glibc's cpu_features.c: on Intel only, the platform may become "xeon_phi"
// or "haswell", and AVX-512 adds the avx512_1 hwcap.
std::string intel_platform(std::string kernel_platform) {
  if (!cpu_has("intel")) return kernel_platform;
  if (cpu_has("xeon_phi")) return "xeon_phi";
  if (cpu_has("haswell")) return "haswell";
  return kernel_platform;
}

// _dl_important_hwcaps (glibc 2.36): every subset of the capability names,
// largest first, each written highest index first ("tls/x86_64/x86_64").
std::vector<std::string> legacy_subdirs(const std::vector<std::string>& caps) {
  std::vector<std::string> out;
  for (std::size_t mask = (std::size_t{1} << caps.size()); mask-- > 0;) {
    std::string dir;
    for (std::size_t i = caps.size(); i-- > 0;)
      if ((mask & (std::size_t{1} << i)) != 0) dir.append(dir.empty() ? "" : "/").append(caps[i]);
    if (std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(dir);
  }
  return out;
}

LoaderAbi x86_64_abi() {
  LoaderAbi abi;
  abi.lib = "lib/x86_64-linux-gnu";
  abi.platform = intel_platform("x86_64");
  for (const char* level : {"x86-64-v4", "x86-64-v3", "x86-64-v2"})
    if (cpu_has(level)) abi.hwcaps.push_back(level);
  std::vector<std::string> caps = {"x86_64"};
  abi.cache_hwcap_bits = kHwcapX86_64;
  if (cpu_has("intel") && cpu_has("avx512_1")) {
    caps.push_back("avx512_1");
    abi.cache_hwcap_bits |= kHwcapX86Avx512_1;
  }
  caps.push_back(abi.platform);
  caps.push_back("tls");
  for (const std::string& level : abi.hwcaps) abi.subdirs.push_back("glibc-hwcaps/" + level);
  for (std::string& dir : legacy_subdirs(caps)) abi.subdirs.push_back(std::move(dir));
  abi.default_dirs = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"};
  return abi;
}

// Not observable on a kernel without i386 support: from glibc's sources
// (no glibc-hwcaps subdirectories on i386, hwcap "sse2", platform "i686").
LoaderAbi i386_abi() {
  LoaderAbi abi;
  abi.elf_class = ELFCLASS32;
  abi.machine = EM_386;
  abi.lib = "lib/i386-linux-gnu";
  abi.platform = "i686";
  abi.subdirs = legacy_subdirs({"sse2", abi.platform, "tls"});
  abi.default_dirs = {"/lib/i386-linux-gnu", "/usr/lib/i386-linux-gnu", "/lib", "/usr/lib"};
  abi.cache_flags = 0x0003;  // FLAG_ELF_LIBC6
  abi.cache_hwcap_bits = kHwcapX86Sse2;
  return abi;
}

LoaderAbi abi_for(const ElfFacts& root, const PathBytes& shown) {
  if (root.elf_class == ELFCLASS64 && root.machine == EM_X86_64) return x86_64_abi();
  if (root.elf_class == ELFCLASS32 && root.machine == EM_386) return i386_abi();
  throw Error(shown + ": unsupported ELF machine " + std::to_string(root.machine) + " (class " + std::to_string(root.elf_class) +
              "): only x86-64 and i386 loaders are modelled");
}

// ---------------------------------------------------------------------------
// The ld.so cache (glibc-ld.so.cache1.1)

struct CacheEntry {
  std::int32_t flags = 0;
  std::string key;
  PathBytes value;
  std::uint64_t hwcap = 0;
};

struct LdCache {
  std::vector<CacheEntry> entries;
  std::vector<std::string> hwcaps;  // the glibc-hwcaps extension: index -> subdirectory name
};

constexpr std::string_view kOldCacheMagic = "ld.so-1.7.0";
constexpr std::string_view kNewCacheMagic = "glibc-ld.so.cache1.1";
constexpr std::size_t kOldEntrySize = 12;  // int32 flags, uint32 key, uint32 value
constexpr std::size_t kNewHeaderSize = 48;
constexpr std::size_t kNewEntrySize = 24;  // int32 flags, uint32 key, value, osversion; uint64 hwcap
constexpr std::uint32_t kCacheExtensionMagic = 0xeaa42174;
constexpr std::uint32_t kCacheExtensionTagHwcaps = 1;
constexpr std::uint64_t kCacheHwcapExtension = 1ull << 62;

template <typename T>
T load(std::string_view bytes, std::size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof value);
  return value;
}

// A NUL-terminated string at `offset` of `table`, or nullopt if it runs off.
std::optional<std::string> cache_string(std::string_view table, std::uint64_t offset) {
  if (offset >= table.size()) return std::nullopt;
  std::size_t end = table.find('\0', offset);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(table.substr(offset, end - offset));
}

std::vector<std::string> read_cache_hwcaps(std::string_view cache, std::uint32_t at) {
  std::vector<std::string> names;
  if (at == 0 || at % 4 != 0 || cache.size() < 8 || at > cache.size() - 8) return names;
  if (load<std::uint32_t>(cache, at) != kCacheExtensionMagic) return names;
  std::uint64_t sections = load<std::uint32_t>(cache, at + 4);
  if (sections > (cache.size() - at - 8) / 16) return names;
  for (std::uint64_t i = 0; i < sections; ++i) {
    std::size_t section = at + 8 + 16 * i;
    if (load<std::uint32_t>(cache, section) != kCacheExtensionTagHwcaps) continue;
    std::uint64_t offset = load<std::uint32_t>(cache, section + 8), size = load<std::uint32_t>(cache, section + 12);
    if (offset > cache.size() || size > cache.size() - offset) return names;
    for (std::uint64_t j = 0; j + 4 <= size; j += 4)
      names.push_back(cache_string(cache, load<std::uint32_t>(cache, offset + j)).value_or(""));
  }
  return names;
}

// Parses the cache file's bytes; `shown` names it in errors. All offsets are
// relative to the new-format header, which may follow an old-format table.
LdCache parse_ld_cache(std::string_view bytes, const PathBytes& shown) {
  if (bytes.starts_with(kOldCacheMagic) && bytes.size() >= 16) {
    std::uint64_t old_entries = load<std::uint32_t>(bytes, 12);
    std::uint64_t skip = 16 + old_entries * kOldEntrySize;
    skip = (skip + 7) / 8 * 8;  // the new header is aligned like its entries
    if (skip >= bytes.size()) throw Error(shown + ": truncated ld.so cache");
    bytes.remove_prefix(skip);
  }
  if (!bytes.starts_with(kNewCacheMagic) || bytes.size() < kNewHeaderSize) throw Error(shown + ": not a glibc-ld.so.cache1.1 file");
  std::uint64_t count = load<std::uint32_t>(bytes, 20);
  if (count > (bytes.size() - kNewHeaderSize) / kNewEntrySize) throw Error(shown + ": truncated ld.so cache");
  LdCache cache;
  cache.hwcaps = read_cache_hwcaps(bytes, load<std::uint32_t>(bytes, 32));
  for (std::uint64_t i = 0; i < count; ++i) {
    std::size_t at = kNewHeaderSize + i * kNewEntrySize;
    std::optional<std::string> key = cache_string(bytes, load<std::uint32_t>(bytes, at + 4));
    std::optional<std::string> value = cache_string(bytes, load<std::uint32_t>(bytes, at + 8));
    if (!key || !value) continue;  // dl-cache.c skips entries with bad string offsets
    cache.entries.push_back(CacheEntry{load<std::int32_t>(bytes, at), *key, *value, load<std::uint64_t>(bytes, at + 16)});
  }
  return cache;
}

std::optional<LdCache> load_ld_cache(const LoaderConfig& config) {
  PathBytes file = host_path(config.root, "/etc/ld.so.cache");
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;  // like ld.so: no cache, straight to the default paths
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_ld_cache(bytes, file);
}

std::uint64_t parse_digits(std::string_view s, std::size_t& at) {
  std::uint64_t n = 0;
  while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at]))) n = n * 10 + static_cast<std::uint64_t>(s[at++] - '0');
  return n;
}

// _dl_cache_libcmp equality: runs of digits compare as numbers ("so.01" == "so.1").
bool same_cache_name(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    bool da = std::isdigit(static_cast<unsigned char>(a[i])), db = std::isdigit(static_cast<unsigned char>(b[j]));
    if (da != db) return false;
    if (da && parse_digits(a, i) != parse_digits(b, j)) return false;
    if (!da && a[i++] != b[j++]) return false;
  }
  return i == a.size() && j == b.size();
}

// 0 when the entry's glibc-hwcaps subdirectory is unsupported, else its rank (1 best).
std::size_t hwcaps_priority(const LdCache& cache, const LoaderAbi& abi, std::uint64_t hwcap) {
  std::uint64_t index = hwcap & 0xffffffffu;
  if (index >= cache.hwcaps.size()) return 0;
  auto it = std::find(abi.hwcaps.begin(), abi.hwcaps.end(), cache.hwcaps[index]);
  return it == abi.hwcaps.end() ? 0 : static_cast<std::size_t>(it - abi.hwcaps.begin()) + 1;
}

// search_cache in dl-cache.c: named-hwcaps entries (listed first) compete by
// priority; otherwise the first entry with the loader's flags wins.
std::optional<PathBytes> cache_lookup(const LdCache& cache, const LoaderAbi& abi, std::string_view name) {
  std::optional<PathBytes> best;
  std::size_t best_priority = 0;
  for (const CacheEntry& entry : cache.entries) {
    if (!same_cache_name(name, entry.key)) continue;
    bool flags_ok = entry.flags == abi.cache_flags || (abi.elf_class == ELFCLASS32 && entry.flags == 1);
    if (!flags_ok) continue;
    bool named = (entry.hwcap >> 32) == (kCacheHwcapExtension >> 32);
    if (named) {
      std::size_t priority = hwcaps_priority(cache, abi, entry.hwcap);
      if (priority == 0 || (best && priority >= best_priority)) continue;
      best_priority = priority;
      best = entry.value;
      continue;
    }
    if (best) break;
    if ((entry.hwcap & ~(abi.cache_hwcap_bits | kCacheHwcapTls)) != 0) continue;
    return entry.value;
  }
  return best;
}

// ---------------------------------------------------------------------------
// /etc/ld.so.conf, for use_ld_so_cache == false

std::string trim(std::string_view text) {
  std::size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  return std::string(text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1));
}

void read_ld_so_conf(const LoaderConfig& config, const PathBytes& file, int depth, std::vector<PathBytes>& dirs);

// ldconfig's `include`: glob patterns, relative ones to the including file's directory.
void include_ld_so_conf(const LoaderConfig& config, const PathBytes& from, std::string_view patterns, int depth,
                        std::vector<PathBytes>& dirs) {
  std::istringstream words{std::string(patterns)};
  std::string pattern;
  while (words >> pattern) {
    PathBytes absolute = make_absolute(PathBytes(parent_of(from)), pattern);
    glob_t matches{};
    if (glob(host_path(config.root, absolute).c_str(), 0, nullptr, &matches) == 0) {
      std::size_t strip = host_path(config.root, "").size();
      for (std::size_t i = 0; i < matches.gl_pathc; ++i)
        read_ld_so_conf(config, PathBytes(matches.gl_pathv[i]).substr(strip), depth + 1, dirs);
    }
    globfree(&matches);
  }
}

void read_ld_so_conf(const LoaderConfig& config, const PathBytes& file, int depth, std::vector<PathBytes>& dirs) {
  if (depth > 16) return;  // an include cycle
  std::ifstream in(host_path(config.root, file));
  std::string line;
  while (std::getline(in, line)) {
    std::string text = trim(line.substr(0, line.find('#')));
    if (text.starts_with("include") && text.size() > 7 && std::isspace(static_cast<unsigned char>(text[7]))) {
      include_ld_so_conf(config, file, text.substr(8), depth, dirs);
    } else if (!text.empty() && !text.starts_with("hwcap")) {
      std::string dir = trim(text.substr(0, text.find_first_of(" \t=")));  // "dir=libc6" is an old type suffix
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
    }
  }
}

// ---------------------------------------------------------------------------
// One simulated process

struct Object {
  PathBytes path;  // as opened, absolute
  PathBytes resolved;
  dev_t dev = 0;
  ino_t ino = 0;
  std::vector<std::string> names;  // names it answers to (requested names, path, soname)
  ElfFacts facts;
  PathBytes origin;     // $ORIGIN
  int loader = -1;      // the object whose DT_NEEDED loaded it
  bool queued = false;  // in the dependency search list
};

// A candidate the search settled on.
struct Found {
  PathBytes path;
  PathResolution walk;
  ElfFacts facts;
  std::string via;
  std::string problem;  // non-empty: ld.so would stop with this error
};

struct Simulation {
  const LoaderConfig& config;
  const LoaderAbi& abi;
  const std::optional<LdCache>& cache;
  const std::vector<PathBytes>& conf_dirs;
  PathBytes cwd;
  std::vector<Object> objects;   // [0] is the executable
  std::vector<int> search_list;  // breadth-first order
  std::vector<ElfDependency> dependencies;
  std::vector<std::string> missing;
};

// is_dst in dl-load.c: "$NAME" not followed by a name character, or "${NAME}".
std::size_t dst_length(std::string_view text, std::string_view name) {
  bool curly = !text.empty() && text.front() == '{';
  if (curly) text.remove_prefix(1);
  if (!text.starts_with(name)) return 0;
  if (curly) return text.size() > name.size() && text[name.size()] == '}' ? name.size() + 2 : 0;
  if (text.size() > name.size() && (std::isalnum(static_cast<unsigned char>(text[name.size()])) || text[name.size()] == '_')) return 0;
  return name.size();
}

std::string expand_dst(std::string_view text, const PathBytes& origin, const LoaderAbi& abi) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string_view rest = text.substr(i + 1);
    std::size_t n = 0;
    if (text[i] != '$')
      out.push_back(text[i]);
    else if ((n = dst_length(rest, "ORIGIN")) != 0)
      out += origin;
    else if ((n = dst_length(rest, "PLATFORM")) != 0)
      out += abi.platform;
    else if ((n = dst_length(rest, "LIB")) != 0)
      out += abi.lib;
    else
      out.push_back('$');
    i += n;
  }
  return out;
}

// Splits a search path and expands each element; "" stands for the working directory.
std::vector<PathBytes> search_dirs(const Simulation& p, std::string_view list, std::string_view separators, const PathBytes& origin) {
  std::vector<PathBytes> dirs;
  std::size_t at = 0;
  while (at <= list.size()) {
    std::size_t end = std::min(list.find_first_of(separators, at), list.size());
    std::string dir = expand_dst(list.substr(at, end - at), origin, p.abi);
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    dirs.push_back(make_absolute(p.cwd, dir));
    at = end + 1;
  }
  return dirs;
}

// open_verify: absent, unreadable or not a regular file -> nullopt (keep
// looking); other class or machine -> nullopt (keep looking); not ELF -> a
// problem (ld.so stops there with "invalid ELF header").
std::optional<Found> probe(const Simulation& p, const PathBytes& path, std::string via) {
  PathResolution walk = resolve_path(host_lookup(p.config.root), path);
  struct stat st;
  if (walk.error != 0 || stat(host_path(p.config.root, walk.resolved).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::optional<ElfFacts> facts;
  try {
    facts = read_elf(host_path(p.config.root, walk.resolved), path);
  } catch (const Error&) {
    return std::nullopt;  // open() failed: open_path tries the next directory
  }
  if (!facts) return Found{path, std::move(walk), {}, std::move(via), path + ": invalid ELF header"};
  if (facts->elf_class != p.abi.elf_class || facts->machine != p.abi.machine) return std::nullopt;
  return Found{path, std::move(walk), std::move(*facts), std::move(via), ""};
}

std::optional<Found> open_path(const Simulation& p, const std::vector<PathBytes>& dirs, std::string_view name, const char* via) {
  for (const PathBytes& dir : dirs)
    for (const std::string& sub : p.abi.subdirs)
      if (std::optional<Found> found = probe(p, join(sub.empty() ? dir : join(dir, sub), name), via)) return found;
  return std::nullopt;
}

std::optional<Found> search_rpaths(const Simulation& p, int requester, std::string_view name) {
  bool did_main = false;
  for (int l = requester; l >= 0; l = p.objects[l].loader) {
    const Object& object = p.objects[l];
    if (!object.facts.rpath) continue;
    if (auto found = open_path(p, search_dirs(p, *object.facts.rpath, ":", object.origin), name, "DT_RPATH")) return found;
    did_main |= l == 0;
  }
  const Object& main = p.objects[0];
  if (did_main || !main.facts.rpath) return std::nullopt;
  return open_path(p, search_dirs(p, *main.facts.rpath, ":", main.origin), name, "DT_RPATH");
}

bool in_default_dir(const LoaderAbi& abi, std::string_view path) {
  for (const PathBytes& dir : abi.default_dirs)
    if (path.starts_with(dir + "/")) return true;
  return false;
}

std::optional<Found> search_cache(const Simulation& p, std::string_view name, bool nodeflib) {
  if (!p.config.use_ld_so_cache) return open_path(p, p.conf_dirs, name, "ld.so.cache");
  if (!p.cache) return std::nullopt;
  std::optional<PathBytes> cached = cache_lookup(*p.cache, p.abi, name);
  if (!cached || (nodeflib && in_default_dir(p.abi, *cached))) return std::nullopt;
  return probe(p, *cached, "ld.so.cache");
}

// _dl_map_object's search order for a name without '/'.
std::optional<Found> search(const Simulation& p, int requester, std::string_view name) {
  const Object& object = p.objects[requester];
  std::optional<Found> found;
  if (!object.facts.runpath) found = search_rpaths(p, requester, name);
  for (const PathBytes& list : p.config.library_path) {
    if (found) break;
    found = open_path(p, search_dirs(p, list, ":;", p.objects[0].origin), name, "LD_LIBRARY_PATH");
  }
  if (!found && object.facts.runpath) found = open_path(p, search_dirs(p, *object.facts.runpath, ":", object.origin), name, "DT_RUNPATH");
  if (!found) found = search_cache(p, name, object.facts.nodeflib);
  if (!found && !object.facts.nodeflib) found = open_path(p, p.abi.default_dirs, name, "default path");
  return found;
}

int loaded_by_name(const Simulation& p, std::string_view name) {
  for (std::size_t i = 0; i < p.objects.size(); ++i) {
    const Object& object = p.objects[i];
    if (std::find(object.names.begin(), object.names.end(), name) != object.names.end()) return static_cast<int>(i);
  }
  return -1;
}

int loaded_by_file(const Simulation& p, dev_t dev, ino_t ino) {
  for (std::size_t i = 0; i < p.objects.size(); ++i)
    if (p.objects[i].dev == dev && p.objects[i].ino == ino) return static_cast<int>(i);
  return -1;
}

void enqueue(Simulation& p, int index) {
  if (p.objects[index].queued) return;
  p.objects[index].queued = true;
  p.search_list.push_back(index);
}

// Adds a newly opened object; returns its index.
int add_object(Simulation& p, Found found, const std::string& name, int loader) {
  Object object;
  object.path = found.path;
  object.resolved = found.walk.resolved;
  struct stat st {};
  stat(host_path(p.config.root, object.resolved).c_str(), &st);
  object.dev = st.st_dev;
  object.ino = st.st_ino;
  object.names = {name, found.path};
  if (!found.facts.soname.empty()) object.names.push_back(found.facts.soname);
  object.origin = PathBytes(parent_of(found.path));
  object.loader = loader;
  object.facts = std::move(found.facts);
  PathBytes needed_by = loader >= 0 ? p.objects[loader].resolved : PathBytes();
  p.dependencies.push_back(ElfDependency{name, needed_by, found.path, object.resolved, std::move(found.walk.links), std::move(found.via)});
  p.objects.push_back(std::move(object));
  return static_cast<int>(p.objects.size()) - 1;
}

void note_missing(Simulation& p, const std::string& name, int requester, const std::string& problem) {
  std::string entry = name + " (needed by " + p.objects[requester].resolved + ")";
  if (!problem.empty()) entry += ": " + problem;
  p.missing.push_back(std::move(entry));
}

void map_needed(Simulation& p, int requester, const std::string& name) {
  if (int index = loaded_by_name(p, name); index >= 0) return enqueue(p, index);
  std::optional<Found> found;
  if (name.find('/') != std::string::npos) {
    PathBytes path = make_absolute(p.cwd, expand_dst(name, p.objects[requester].origin, p.abi));
    found = probe(p, path, "absolute");
  } else {
    found = search(p, requester, name);
  }
  if (!found || !found->problem.empty()) return note_missing(p, name, requester, found ? found->problem : "");
  struct stat st {};
  stat(host_path(p.config.root, found->walk.resolved).c_str(), &st);
  if (int index = loaded_by_file(p, st.st_dev, st.st_ino); index >= 0) {
    p.objects[index].names.push_back(name);
    return enqueue(p, index);
  }
  enqueue(p, add_object(p, std::move(*found), name, requester));
}

// The kernel maps PT_INTERP; ld.so's own map joins the search list only when
// something needs it (libc needs "ld-linux-x86-64.so.2": its soname).
void map_interpreter(Simulation& p) {
  const PathBytes interp = p.objects[0].facts.interp;
  if (interp.empty()) return;
  std::optional<Found> found = probe(p, make_absolute(p.cwd, interp), "PT_INTERP");
  if (!found || !found->problem.empty()) return note_missing(p, interp, 0, found ? found->problem : "");
  int index = add_object(p, std::move(*found), interp, 0);
  p.objects[index].loader = -1;  // rtld's map has no loader
}

Object load_root(const LoaderConfig& config, const PathBytes& cwd, const PathBytes& file) {
  Object root;
  root.path = make_absolute(cwd, file);
  PathResolution walk = resolve_path(host_lookup(config.root), root.path);
  if (walk.error != 0) throw Error(system_error_message(file, walk.error));
  std::optional<ElfFacts> facts = read_elf(host_path(config.root, walk.resolved), file);
  if (!facts) throw Error(file + ": not an ELF file");
  struct stat st {};
  stat(host_path(config.root, walk.resolved).c_str(), &st);
  root.resolved = walk.resolved;
  root.dev = st.st_dev;
  root.ino = st.st_ino;
  root.names = {root.path};
  if (!facts->soname.empty()) root.names.push_back(facts->soname);
  root.facts = std::move(*facts);
  // An executed program's origin comes from /proc/self/exe, every symlink
  // resolved; a library's from the path it is opened under (also what ldd
  // shows for any file, since it runs the loader explicitly on the name).
  root.origin = PathBytes(parent_of(root.facts.interp.empty() ? root.path : root.resolved));
  return root;
}

PathBytes working_directory(const LoaderConfig& config) {
  if (!config.root.empty() && config.root != "/") return "/";
  char buffer[4096];
  if (getcwd(buffer, sizeof buffer) == nullptr) throw_system_error("getcwd");
  return buffer;
}

struct Environment {
  std::optional<LdCache> cache;
  std::vector<PathBytes> conf_dirs;
};

Environment load_environment(const LoaderConfig& config) {
  Environment env;
  if (config.use_ld_so_cache)
    env.cache = load_ld_cache(config);
  else
    read_ld_so_conf(config, "/etc/ld.so.conf", 0, env.conf_dirs);
  return env;
}

void merge(ElfClosure& closure, std::set<PathBytes>& seen, Simulation& p) {
  for (ElfDependency& dep : p.dependencies)
    if (seen.insert(dep.resolved).second) closure.dependencies.push_back(std::move(dep));
  for (std::string& entry : p.missing)
    if (std::find(closure.missing.begin(), closure.missing.end(), entry) == closure.missing.end())
      closure.missing.push_back(std::move(entry));
}

// Opens `file` for the simulated loader: the root object a dlopen() search
// starts from; nullopt when it is no ELF object of a modelled machine.
std::optional<Object> load_requester(const LoaderConfig& config, const PathBytes& cwd, const PathBytes& file) {
  try {
    Object object = load_root(config, cwd, file);
    abi_for(object.facts, file);
    return object;
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<ElfDlopenHints> read_dlopen_hints(const PathBytes& file, const LoaderConfig& config) {
  static const bool initialised = elf_version(EV_CURRENT) != EV_NONE;
  if (!initialised) throw Error("libelf: version mismatch");
  Fd fd{open(host_path(config.root, file).c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) throw_system_error(file);
  ElfHandle handle{elf_begin(fd.fd, ELF_C_READ, nullptr)};
  if (handle.elf == nullptr || elf_kind(handle.elf) != ELF_K_ELF) return std::nullopt;
  std::size_t names = 0;
  if (elf_getshdrstrndx(handle.elf, &names) != 0) return ElfDlopenHints{};
  ElfDlopenHints hints;
  std::set<std::string> seen;
  for (Elf_Scn* scn = elf_nextscn(handle.elf, nullptr); scn != nullptr; scn = elf_nextscn(handle.elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* name = elf_strptr(handle.elf, names, shdr.sh_name);
    if (shdr.sh_type == SHT_NOTE) {
      if (Elf_Data* data = elf_getdata(scn, nullptr)) read_notes(data, hints);
    } else if (shdr.sh_type == SHT_PROGBITS && name != nullptr && std::string_view(name).starts_with(".rodata")) {
      if (Elf_Data* data = elf_rawdata(scn, nullptr); data != nullptr && data->d_buf != nullptr) read_sonames(data, seen, hints);
    }
  }
  return hints;
}

std::vector<std::optional<ElfDependency>> resolve_dlopen(const std::vector<DlopenRequest>& requests, const LoaderConfig& config) {
  PathBytes cwd = working_directory(config);
  Environment env = load_environment(config);
  std::vector<std::optional<ElfDependency>> out;
  for (const DlopenRequest& request : requests) {
    std::optional<Object> requester = load_requester(config, cwd, request.requester);
    if (!requester) {
      out.emplace_back();
      continue;
    }
    LoaderAbi abi = abi_for(requester->facts, request.requester);
    Simulation p{config, abi, env.cache, env.conf_dirs, cwd, {}, {}, {}, {}};
    p.objects.push_back(std::move(*requester));
    std::optional<Found> found = search(p, 0, request.name);
    if (!found || !found->problem.empty()) {
      out.emplace_back();
      continue;
    }
    out.push_back(ElfDependency{.needed = request.name,
                                .needed_by = p.objects[0].resolved,
                                .path = found->path,
                                .resolved = found->walk.resolved,
                                .links = found->walk.links,
                                .found_via = found->via});
  }
  return out;
}

ElfClosure elf_closure(const std::vector<PathBytes>& files, const LoaderConfig& config) {
  PathBytes cwd = working_directory(config);
  Environment env = load_environment(config);
  ElfClosure closure;
  std::set<PathBytes> seen;
  for (const PathBytes& file : files) {
    Object root = load_root(config, cwd, file);
    LoaderAbi abi = abi_for(root.facts, file);
    Simulation p{config, abi, env.cache, env.conf_dirs, cwd, {}, {}, {}, {}};
    closure.roots.push_back(root.resolved);
    p.objects.push_back(std::move(root));
    map_interpreter(p);
    enqueue(p, 0);
    for (std::size_t i = 0; i < p.search_list.size(); ++i) {
      int index = p.search_list[i];
      const std::vector<std::string> needed = p.objects[index].facts.needed;
      for (const std::string& name : needed) map_needed(p, index, name);
    }
    merge(closure, seen, p);
  }
  return closure;
}

}  // namespace tracepack
