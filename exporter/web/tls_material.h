// What a TLS connection needs, loaded from the web config's TLS settings:
// certificate and key, client CA store, OpenSSL cipher/group lists. Immutable
// once built; each new connection takes the current one, so a certificate
// swapped on disk is served from the next connection on.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "exporter/status.h"
#include "exporter/web/web_config.h"

namespace netobs::web {

struct TlsMaterial {
  TlsMaterial() = default;
  TlsMaterial(const TlsMaterial&) = delete;
  TlsMaterial& operator=(const TlsMaterial&) = delete;
  ~TlsMaterial();

  TlsSettings settings;
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  STACK_OF(X509) * chain = nullptr;                 // intermediates after the leaf in cert_file
  X509_STORE* client_store = nullptr;               // verifies client certificates
  STACK_OF(X509_NAME) * client_ca_names = nullptr;  // sent in the CertificateRequest
  std::string cipher_list;                          // TLS 1.2 suites, OpenSSL names ("" = default)
  std::string ciphersuites;                         // TLS 1.3 suites ("" = default)
  std::string groups;                               // curve_preferences ("" = default)
  int verify_mode = 0;                              // SSL_VERIFY_* for client_auth_type
  bool verify_chain = false;                        // the Verify* policies check the chain
};

// Loads the files and checks them as exporter-toolkit does, with its
// messages ("missing one of cert or cert_file", "failed to read cert_file
// (...)", "client CA's have been configured without a Client Auth Policy").
Result<std::shared_ptr<const TlsMaterial>> build_tls_material(const TlsSettings& settings);

// Applies `material` to one connection (called from the ClientHello
// callback, before version and cipher negotiation). False on failure.
bool apply_tls_material(SSL* ssl, const std::shared_ptr<const TlsMaterial>& material);

// Sets what does not change per connection on civetweb's SSL_CTX: no session
// resumption (every connection sees the current certificate and client
// policy) and the ClientHello callback that fetches the current material.
using TlsMaterialSource = std::shared_ptr<const TlsMaterial> (*)(void* arg);
void configure_server_ctx(SSL_CTX* ctx, TlsMaterialSource source, void* arg);

}  // namespace netobs::web
