#include "exporter/web/http_headers.h"

#include <cctype>
#include <cstdlib>
#include <string>

namespace netobs::web {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The q-value of one list element's parameters; 1 when absent, -1 when
// malformed (the element is then ignored).
double q_value(std::string_view params) {
  while (!params.empty()) {
    auto semicolon = params.find(';');
    std::string_view param = trim(params.substr(0, semicolon));
    params = semicolon == std::string_view::npos ? "" : params.substr(semicolon + 1);
    auto equals = param.find('=');
    if (equals == std::string_view::npos || !iequals(trim(param.substr(0, equals)), "q")) continue;
    std::string value(trim(param.substr(equals + 1)));
    char* end = nullptr;
    double q = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || q < 0 || q > 1) return -1;
    return q;
  }
  return 1;
}

}  // namespace

bool accepts_gzip(const char* accept_encoding) {
  if (accept_encoding == nullptr) return false;
  double gzip_q = -1, any_q = -1;
  std::string_view list = accept_encoding;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view element = list.substr(0, comma);
    list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
    auto semicolon = element.find(';');
    std::string_view coding = trim(element.substr(0, semicolon));
    double q = semicolon == std::string_view::npos ? 1 : q_value(element.substr(semicolon + 1));
    if (q < 0) continue;
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      gzip_q = std::max(gzip_q, q);
    } else if (coding == "*") {
      any_q = q;
    }
  }
  if (gzip_q >= 0) return gzip_q > 0;
  return any_q > 0;
}

bool wants_keep_alive(const char* connection_header, std::string_view http_version) {
  if (connection_header != nullptr) {
    std::string_view list = connection_header;
    bool keep = false;
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view token = trim(list.substr(0, comma));
      list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
      if (iequals(token, "close")) return false;
      if (iequals(token, "keep-alive")) keep = true;
    }
    // civetweb keeps the connection only for an explicit keep-alive token.
    return keep;
  }
  return http_version == "1.1";
}

std::optional<std::string> absolute_uri_path(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() <= scheme.size() || !iequals(target.substr(0, scheme.size()), scheme)) {
      continue;
    }
    std::string_view rest = target.substr(scheme.size());
    const auto slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
    std::string_view path = rest.substr(slash);
    path = path.substr(0, path.find('?'));
    return std::string(path);
  }
  return std::nullopt;
}

}  // namespace netobs::web
