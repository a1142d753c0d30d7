/* Loaded with the SONAME "libcrypto.so" for civetweb, which dlopens OpenSSL's
 * crypto library by that unversioned name: every symbol it looks up is found
 * in this object's dependency, the real libcrypto.so.3. */
int netobs_libcrypto_name_marker = 1;
