/* Loaded before civetweb starts TLS, with the SONAME "libssl.so": Debian's
 * civetweb 1.15 dlopens OpenSSL by that unversioned name (only libssl-dev
 * provides the file) and looks up SSL_get_peer_certificate, which OpenSSL 3
 * renamed. glibc hands civetweb this already-loaded object for the name;
 * every other symbol is found in its dependency, the real libssl.so.3. */
typedef struct ssl_st SSL;
typedef struct x509_st X509;

X509* SSL_get1_peer_certificate(const SSL* ssl);

/* OpenSSL 1.1 semantics: returns a reference the caller frees (as get1). */
X509* SSL_get_peer_certificate(const SSL* ssl) { return SSL_get1_peer_certificate(ssl); }
