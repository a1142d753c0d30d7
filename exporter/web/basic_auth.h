// HTTP basic auth against bcrypt hashes (exporter-toolkit's basic_auth_users).
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace netobs::web {

// Splits an Authorization header "Basic base64(user:password)" (scheme case-
// insensitive, as Go's Request.BasicAuth); false when it is not one.
bool parse_basic_authorization(std::string_view header, std::string& user, std::string& password);

// True when `password` hashes to the bcrypt `hash` (libxcrypt's crypt_rn
// handles $2y$, $2b$ and $2a$), compared in constant time.
bool bcrypt_matches(const std::string& password, const std::string& hash);

class BasicAuth {
 public:
  // bcrypt of "fakepassword" at cost 10, exporter-toolkit's: unknown users are
  // checked against it so the answer takes as long as for a real user.
  static constexpr const char* kDummyHash =
      "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
  static constexpr size_t kCacheSize = 256;

  // True when `authorization` (the header's value, null when absent) names
  // a user of `users` with that user's password.
  bool allowed(const std::map<std::string, std::string>& users, const char* authorization);

  size_t bcrypt_runs() const;  // for tests: checks that missed the cache

 private:
  mutable std::mutex mutex_;  // guards the cache and the counter
  std::unordered_map<std::string, bool> cache_;
  std::deque<std::string> cache_order_;
  size_t bcrypt_runs_ = 0;
  // bcrypt is CPU-heavy on purpose: one at a time, as exporter-toolkit does.
  std::mutex bcrypt_mutex_;
};

}  // namespace netobs::web
