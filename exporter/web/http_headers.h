// Small HTTP header parsers for the exporter's server.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace netobs::web {

// Whether an Accept-Encoding value allows gzip: codings are compared
// case-insensitively with their q-values ("gzip;q=0" refuses it, "*" allows
// it unless gzip is listed with q=0; x-gzip is gzip). Null: no header.
bool accepts_gzip(const char* accept_encoding);

// Whether the client wants the connection kept open after this response:
// an explicit Connection header decides, else HTTP/1.1 keeps it, 1.0 not.
bool wants_keep_alive(const char* connection_header, std::string_view http_version);

// The path of an absolute-form request target ("http://host:port/path?q"
// gives "/path"); nullopt when it is not one (scheme http or https, any
// case, an authority, then a path starting with /).
std::optional<std::string> absolute_uri_path(std::string_view target);

}  // namespace netobs::web
