// Sha256 over OpenSSL's EVP digest interface (one context, reinitialised for
// each digest).
#include "sha256.h"

#include <openssl/evp.h>

#include "tracepack/error.h"

namespace tracepack {

void Sha256::Free::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw Error("sha256: cannot allocate a digest context");
  reset();
}

Sha256::~Sha256() = default;

void Sha256::reset() {
  if (EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw Error("sha256: cannot start a digest");
}

void Sha256::update(const void* data, std::size_t size) {
  if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw Error("sha256: cannot update a digest");
}

namespace {

std::string finish_hex(evp_md_ctx_st* ctx, const char* what) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx, digest, &length) != 1) throw Error(std::string(what) + ": cannot finish a digest");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) out += {kHex[digest[i] >> 4], kHex[digest[i] & 15]};
  return out;
}

}  // namespace

std::string Sha256::hex() { return finish_hex(ctx_.get(), "sha256"); }

Md5::Md5() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) throw Error("md5: cannot allocate a digest context");
  if (EVP_DigestInit_ex(ctx_.get(), EVP_md5(), nullptr) != 1) throw Error("md5: cannot start a digest");
}

Md5::~Md5() = default;

void Md5::update(const void* data, std::size_t size) {
  if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw Error("md5: cannot update a digest");
}

std::string Md5::hex() { return finish_hex(ctx_.get(), "md5"); }

}  // namespace tracepack
