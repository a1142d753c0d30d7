#include "exporter/web/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <cstring>
#include <memory>

namespace netobs::web {
namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding, as Go's base64.StdEncoding.
bool base64_decode(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  out.clear();
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        v[j] = 0;
        ++padding;
        continue;
      }
      if (padding > 0) return false;
      v[j] = base64_value(c);
      if (v[j] < 0) return false;
    }
    const unsigned bits = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>((bits >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((bits >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(bits & 0xff);
  }
  return true;
}

// The cache key: a digest, so neither passwords nor hashes sit in memory.
std::string cache_key(const std::string& user, const std::string& hash,
                      const std::string& password) {
  std::string input;
  for (const std::string* part : {&user, &hash, &password}) {
    input += std::to_string(part->size()) + ':' + *part;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned length = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha256(), nullptr);
  OPENSSL_cleanse(input.data(), input.size());
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

}  // namespace

bool parse_basic_authorization(std::string_view header, std::string& user, std::string& password) {
  constexpr std::string_view kPrefix = "basic ";
  if (header.size() < kPrefix.size()) return false;
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kPrefix[i]) return false;
  }
  std::string decoded;
  if (!base64_decode(header.substr(kPrefix.size()), decoded)) return false;
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  user = decoded.substr(0, colon);
  password = decoded.substr(colon + 1);
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return true;
}

bool bcrypt_matches(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  const char* result = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (result == nullptr) return false;
  const size_t length = std::strlen(result);
  return length == hash.size() && CRYPTO_memcmp(result, hash.data(), length) == 0;
}

bool BasicAuth::allowed(const std::map<std::string, std::string>& users,
                        const char* authorization) {
  std::string user, password;
  if (authorization == nullptr || !parse_basic_authorization(authorization, user, password)) {
    return false;
  }
  auto it = users.find(user);
  const bool known = it != users.end();
  const std::string& hash = known ? it->second : std::string(kDummyHash);
  const std::string key = cache_key(user, hash, password);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto cached = cache_.find(key);
    if (cached != cache_.end()) {
      OPENSSL_cleanse(password.data(), password.size());
      return cached->second && known;
    }
  }
  bool matches = false;
  {
    std::lock_guard<std::mutex> lock(bcrypt_mutex_);
    matches = bcrypt_matches(password, hash);
  }
  OPENSSL_cleanse(password.data(), password.size());
  const bool ok = matches && known;
  std::lock_guard<std::mutex> lock(mutex_);
  ++bcrypt_runs_;
  if (cache_.emplace(key, ok).second) {
    cache_order_.push_back(key);
    if (cache_order_.size() > kCacheSize) {
      cache_.erase(cache_order_.front());
      cache_order_.pop_front();
    }
  }
  return ok;
}

size_t BasicAuth::bcrypt_runs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bcrypt_runs_;
}

}  // namespace netobs::web
