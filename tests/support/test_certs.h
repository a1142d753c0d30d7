// Certificates for TLS tests, made by the openssl CLI in a directory:
//   ca.crt/ca.key              the CA clients and the server trust
//   server.crt/server.key      CN=localhost, SAN DNS:localhost, IP:127.0.0.1 (by ca)
//   rotated.crt/rotated.key    CN=rotated.localhost, same SANs (by ca)
//   client.crt/client.key      CN=client, SAN DNS:client.allowed (by ca)
//   other.crt/other.key        CN=other, SAN DNS:client.other (by ca)
//   rogue_ca.crt, rogue.crt/rogue.key   CN=rogue, SAN DNS:client.allowed, by
//                              a CA the server does not trust
#pragma once

#include <string>

#include "tests/support/test_support.h"

namespace netobs::testing {

inline CommandResult make_test_certs(const std::string& dir) {
  const std::string script = R"(set -e
cd ")" + dir + R"("
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
ca() { key "$1"; openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 2 -subj "/CN=$1"; }
leaf() { # name ca subject san
  key "$1"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "$3"
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
    -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
}
ca ca
ca rogue_ca
leaf server ca /CN=localhost DNS:localhost,IP:127.0.0.1
leaf rotated ca /CN=rotated.localhost DNS:localhost,IP:127.0.0.1
leaf client ca /CN=client DNS:client.allowed
leaf other ca /CN=other DNS:client.other
leaf rogue rogue_ca /CN=rogue DNS:client.allowed
)";
  return run_command({"bash", "-c", script}, 60);
}

}  // namespace netobs::testing
