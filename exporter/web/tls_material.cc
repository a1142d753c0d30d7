#include "exporter/web/tls_material.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "exporter/web/file_read.h"

namespace netobs::web {
namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr memory_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Every certificate in the PEM text, in order.
STACK_OF(X509) * read_certificates(const std::string& pem) {
  STACK_OF(X509)* certs = sk_X509_new_null();
  BioPtr bio = memory_bio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(certs, cert);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  return certs;
}

std::string join(const std::vector<std::string>& names, const char* separator) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : separator) + n;
  return out;
}

int material_index() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<std::shared_ptr<const TlsMaterial>*>(ptr);
      });
  return index;
}

const TlsMaterial* material_of(SSL* ssl) {
  auto* held =
      static_cast<std::shared_ptr<const TlsMaterial>*>(SSL_get_ex_data(ssl, material_index()));
  return held ? held->get() : nullptr;
}

// The SAN values Go's VerifyPeerCertificate compares: DNS names, e-mail
// addresses, IP addresses and URIs.
bool has_allowed_san(X509* cert, const std::vector<std::string>& allowed) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return false;
  bool found = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    std::string value;
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const ASN1_IA5STRING* text = name->d.ia5;
      value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                   static_cast<size_t>(ASN1_STRING_length(text)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = "";
      int length = ASN1_STRING_length(ip);
      if (length == 4 || length == 16) {
        inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text, sizeof text);
      }
      value = text;
    } else {
      continue;
    }
    found = std::find(allowed.begin(), allowed.end(), value) != allowed.end();
  }
  GENERAL_NAMES_free(names);
  return found;
}

int verify_client(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const TlsMaterial* material = ssl ? material_of(ssl) : nullptr;
  if (material == nullptr) return 0;
  if (material->verify_chain && !preverify_ok) return 0;
  if (X509_STORE_CTX_get_error_depth(store) == 0 && material->settings.client_allowed_sans_set) {
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    if (cert == nullptr || !has_allowed_san(cert, material->settings.client_allowed_sans)) {
      X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  }
  // RequestClientCert / RequireAnyClientCert: any certificate is accepted.
  if (!material->verify_chain) X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

struct HelloArg {
  TlsMaterialSource source;
  void* arg;
};

int on_client_hello(SSL* ssl, int* alert, void* arg) {
  auto* hello = static_cast<HelloArg*>(arg);
  std::shared_ptr<const TlsMaterial> material = hello->source(hello->arg);
  if (!material || !apply_tls_material(ssl, material)) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace

TlsMaterial::~TlsMaterial() {
  X509_free(cert);
  EVP_PKEY_free(key);
  sk_X509_pop_free(chain, X509_free);
  X509_STORE_free(client_store);
  sk_X509_NAME_pop_free(client_ca_names, X509_NAME_free);
}

Result<std::shared_ptr<const TlsMaterial>> build_tls_material(const TlsSettings& settings) {
  if (settings.cert_file.empty() && settings.cert.empty()) {
    return Status::error("missing one of cert or cert_file");
  }
  if (settings.key_file.empty() && settings.key.empty()) {
    return Status::error("missing one of key or key_file");
  }
  std::string cert_pem = settings.cert;
  if (!settings.cert_file.empty()) {
    Result<std::string> text = read_small_file(settings.cert_file, kMaxPemBytes);
    if (!text) {
      return Status::error("failed to read cert_file (" + settings.cert_file +
                           "): " + text.message());
    }
    cert_pem = *text;
  }
  std::string key_pem = settings.key;
  if (!settings.key_file.empty()) {
    Result<std::string> text = read_small_file(settings.key_file, kMaxPemBytes);
    if (!text) {
      return Status::error("failed to read key_file (" + settings.key_file +
                           "): " + text.message());
    }
    key_pem = *text;
  }

  auto material = std::make_shared<TlsMaterial>();
  material->settings = settings;
  material->chain = read_certificates(cert_pem);
  if (sk_X509_num(material->chain) == 0) {
    return Status::error(
        "failed to load X509KeyPair: tls: failed to find any PEM data in certificate input");
  }
  material->cert = sk_X509_shift(material->chain);
  BioPtr key_bio = memory_bio(key_pem);
  material->key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  ERR_clear_error();
  if (material->key == nullptr) {
    return Status::error(
        "failed to load X509KeyPair: tls: failed to find any PEM data in key input");
  }
  if (X509_check_private_key(material->cert, material->key) != 1) {
    ERR_clear_error();
    return Status::error("failed to load X509KeyPair: tls: private key does not match public key");
  }

  std::string ca_pem = settings.client_ca;
  if (!settings.client_ca_file.empty()) {
    Result<std::string> text = read_small_file(settings.client_ca_file, kMaxPemBytes);
    if (!text) return text.status();
    ca_pem = *text;
  }
  const bool ca_configured = !settings.client_ca_file.empty() || !settings.client_ca.empty();

  const std::string& policy = settings.client_auth_type;
  if (policy == "RequestClientCert") {
    material->verify_mode = SSL_VERIFY_PEER;
  } else if (policy == "RequireAnyClientCert" || policy == "RequireClientCert") {
    material->verify_mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  } else if (policy == "VerifyClientCertIfGiven") {
    material->verify_mode = SSL_VERIFY_PEER;
    material->verify_chain = true;
  } else if (policy == "RequireAndVerifyClientCert") {
    material->verify_mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    material->verify_chain = true;
  } else if (policy.empty() || policy == "NoClientCert") {
    material->verify_mode = SSL_VERIFY_NONE;
  } else {
    return Status::error("invalid ClientAuth: " + policy);
  }
  if (ca_configured && material->verify_mode == SSL_VERIFY_NONE) {
    return Status::error("client CA's have been configured without a Client Auth Policy");
  }

  material->client_store = X509_STORE_new();
  material->client_ca_names = sk_X509_NAME_new_null();
  if (ca_configured) {
    STACK_OF(X509)* cas = read_certificates(ca_pem);
    for (int i = 0; i < sk_X509_num(cas); ++i) {
      X509* ca = sk_X509_value(cas, i);
      X509_STORE_add_cert(material->client_store, ca);
      sk_X509_NAME_push(material->client_ca_names, X509_NAME_dup(X509_get_subject_name(ca)));
    }
    sk_X509_pop_free(cas, X509_free);
    ERR_clear_error();
  } else {
    X509_STORE_set_default_paths(material->client_store);  // Go: system roots
  }

  std::vector<std::string> tls12, tls13;
  for (const auto& name : settings.cipher_suites) {
    std::string openssl = openssl_cipher_name(name);
    (openssl.rfind("TLS_", 0) == 0 ? tls13 : tls12).push_back(openssl);
  }
  material->cipher_list = join(tls12, ":");
  material->ciphersuites = join(tls13, ":");
  std::vector<std::string> groups;
  for (const auto& name : settings.curve_preferences) groups.push_back(openssl_group_name(name));
  material->groups = join(groups, ":");
  return std::shared_ptr<const TlsMaterial>(std::move(material));
}

bool apply_tls_material(SSL* ssl, const std::shared_ptr<const TlsMaterial>& material) {
  const TlsMaterial& m = *material;
  SSL_set_ex_data(ssl, material_index(), new std::shared_ptr<const TlsMaterial>(material));
  // TLS 1.0/1.1 need OpenSSL's security level 0 (Debian's default is 2).
  if (m.settings.min_version < kTls12) SSL_set_security_level(ssl, 0);
  if (!SSL_set_min_proto_version(ssl, m.settings.min_version) ||
      !SSL_set_max_proto_version(ssl, m.settings.max_version)) {
    return false;
  }
  // Copies the chain (up-refs), so the material may be replaced meanwhile.
  if (SSL_use_cert_and_key(ssl, m.cert, m.key, m.chain, 1) != 1) return false;
  if (!m.cipher_list.empty() && SSL_set_cipher_list(ssl, m.cipher_list.c_str()) != 1) return false;
  if (!m.ciphersuites.empty() && SSL_set_ciphersuites(ssl, m.ciphersuites.c_str()) != 1) {
    return false;
  }
  if (!m.groups.empty() && SSL_set1_groups_list(ssl, m.groups.c_str()) != 1) return false;
  if (m.settings.prefer_server_cipher_suites) {
    SSL_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
  } else {
    SSL_clear_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  SSL_set_verify(ssl, m.verify_mode, m.verify_mode == SSL_VERIFY_NONE ? nullptr : verify_client);
  if (m.verify_mode != SSL_VERIFY_NONE) {
    if (SSL_set1_verify_cert_store(ssl, m.client_store) != 1) return false;
    SSL_set_client_CA_list(ssl, SSL_dup_CA_list(m.client_ca_names));
  }
  return true;
}

void configure_server_ctx(SSL_CTX* ctx, TlsMaterialSource source, void* arg) {
  // Leaked on purpose: lives as long as civetweb's SSL_CTX (the process).
  static auto* hello = new HelloArg{source, arg};
  hello->source = source;
  hello->arg = arg;
  // civetweb set options with OpenSSL 1.1's bit values, which mean other
  // things to OpenSSL 3 (one turned off sending the client CA names): start
  // over from OpenSSL 3's defaults. Versions are set per connection.
  SSL_CTX_clear_options(ctx, SSL_CTX_get_options(ctx));
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_ENABLE_MIDDLEBOX_COMPAT |
                               SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  static const unsigned char kContext[] = "netobs";
  SSL_CTX_set_session_id_context(ctx, kContext, sizeof kContext - 1);
  SSL_CTX_set_client_hello_cb(ctx, on_client_hello, hello);
}

}  // namespace netobs::web
