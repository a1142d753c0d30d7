// Makes OpenSSL loadable for civetweb's TLS: see openssl_names/ssl_name.c.
#pragma once

#include "exporter/status.h"

namespace netobs::web {

// Loads the two name objects installed next to the exporter
// (<bin>/../lib/netobs/, or the build directory); call before mg_start.
Status load_openssl_for_civetweb();

}  // namespace netobs::web
