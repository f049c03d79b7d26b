// sha256 through OpenSSL's EVP interface (the one libcrypto keeps stable across 1.1 and 3.x).
#include <openssl/evp.h>

#include "tinyq/registry.h"

namespace tinyq {

std::string sha256_hex(const void* data, size_t size) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Fails only when libcrypto is broken; "" never equals a registry digest, so callers refuse.
  if (EVP_Digest(data, size, md, &len, EVP_sha256(), nullptr) != 1 || len != 32) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (unsigned i = 0; i < 32; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

}  // namespace tinyq
