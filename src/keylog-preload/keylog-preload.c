/*
 * keylog-preload: makes any program linked against OpenSSL 1.1.1 or 3.x write a TLS key log (the NSS
 * format that Wireshark and smtpscope read) without changing the program.
 *
 *   SSLKEYLOGFILE=/var/lib/keylog/smtpd.keys LD_PRELOAD=/usr/local/lib/keylog-preload.so program ...
 *
 * It interposes SSL_CTX_new (and SSL_CTX_new_ex, OpenSSL 3): every SSL_CTX the program creates gets a key log callback
 * (SSL_CTX_set_keylog_callback) that appends each line OpenSSL hands it to the file named in
 * SSLKEYLOGFILE. The file is opened once, with O_APPEND | O_CREAT | O_CLOEXEC and mode 0600, so that
 * several processes (Postfix runs one smtpd per client) can append whole lines to the same file; each
 * line is written with a single write(2). Without SSLKEYLOGFILE the library changes nothing.
 *
 * The secrets go to that file only: nothing is printed, logged or kept in memory after the write. A
 * callback the program installed itself is left in place (the program then keeps its own key log).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

typedef SSL_CTX *(*ssl_ctx_new_fn)(const SSL_METHOD *);
#if OPENSSL_VERSION_MAJOR >= 3
typedef SSL_CTX *(*ssl_ctx_new_ex_fn)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *);
static ssl_ctx_new_ex_fn real_ssl_ctx_new_ex;
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static ssl_ctx_new_fn real_ssl_ctx_new;
static int keylog_fd = -1;

static void init(void) {
  real_ssl_ctx_new = (ssl_ctx_new_fn)dlsym(RTLD_NEXT, "SSL_CTX_new");
#if OPENSSL_VERSION_MAJOR >= 3
  real_ssl_ctx_new_ex = (ssl_ctx_new_ex_fn)dlsym(RTLD_NEXT, "SSL_CTX_new_ex");
#endif
  const char *path = getenv("SSLKEYLOGFILE");
  if (path == NULL || path[0] == '\0') return;
  /* 0600 whatever the umask: a key log decrypts every session it covers. */
  keylog_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, S_IRUSR | S_IWUSR);
}

static void keylog_line(const SSL *ssl, const char *line) {
  (void)ssl;
  if (keylog_fd < 0 || line == NULL) return;
  size_t len = strlen(line);
  /* OpenSSL lines are at most a label, 64 hex digits of random and 96 of secret: well under 512 bytes. */
  char buf[512];
  if (len + 1 > sizeof buf) return;
  memcpy(buf, line, len);
  buf[len] = '\n';
  ssize_t written;
  do {
    written = write(keylog_fd, buf, len + 1);
  } while (written < 0 && errno == EINTR);
  OPENSSL_cleanse(buf, sizeof buf);
}

static SSL_CTX *with_keylog(SSL_CTX *ctx) {
  if (ctx != NULL && keylog_fd >= 0 && SSL_CTX_get_keylog_callback(ctx) == NULL) {
    SSL_CTX_set_keylog_callback(ctx, keylog_line);
  }
  return ctx;
}

SSL_CTX *SSL_CTX_new(const SSL_METHOD *method) {
  pthread_once(&once, init);
  if (real_ssl_ctx_new == NULL) return NULL;
  return with_keylog(real_ssl_ctx_new(method));
}

#if OPENSSL_VERSION_MAJOR >= 3
SSL_CTX *SSL_CTX_new_ex(OSSL_LIB_CTX *libctx, const char *propq, const SSL_METHOD *method) {
  pthread_once(&once, init);
  if (real_ssl_ctx_new_ex == NULL) return NULL;
  return with_keylog(real_ssl_ctx_new_ex(libctx, propq, method));
}
#endif
