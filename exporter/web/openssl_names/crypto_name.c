/* Loaded with the SONAME "libcrypto.so" for civetweb, which dlopens OpenSSL's
 * crypto library by that unversioned name: every symbol it looks up is found
 * in this object's dependency, the real libcrypto.so.3. */
#include <openssl/crypto.h>

/* A reference into libcrypto, so that linking with --as-needed (rpm's and
 * some distributions' default flags) keeps libcrypto.so.3 as a dependency:
 * without it the object would resolve nothing for civetweb. */
unsigned long (*const netobs_libcrypto_dependency)(void) = OpenSSL_version_num;
