#ifndef SITEWARDEN_CCURL_H
#define SITEWARDEN_CCURL_H

// libcurl, loaded on first use rather than linked.
//
// libcurl pulls in some thirty libraries (GnuTLS through librtmp, Kerberos, LDAP, libssh2, ...),
// which cost every process about 5 MB of memory and 6 ms of start-up, and GnuTLS runs its own
// initialisation from a constructor. Only probing needs any of it, so `check`, `baseline` or a
// daemon without routes never maps it. The Swift code calls only these `sw_curl_` functions;
// curl.h is included for its types and constants, and calling a `curl_` function directly fails
// to link.

#include <curl/curl.h>
#include <stddef.h>

// Opens `library` (a soname such as "libcurl.so.4") and resolves every function below. Returns 0,
// or -1 with the reason in `error` (the loader's own message, naming the library or the missing
// function). With `commit`, the functions are used from then on by the wrappers below: call it
// once, and only then the wrappers; without, it only tells whether the library would do.
int sw_curl_load(const char *library, int commit, char *error, size_t error_size);

CURLcode sw_curl_global_init(long flags);
CURL *sw_curl_easy_init(void);
void sw_curl_easy_cleanup(CURL *handle);
CURLcode sw_curl_easy_perform(CURL *handle);
const char *sw_curl_easy_strerror(CURLcode code);
const char *sw_curl_option_name(CURLoption option);

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot
// call: one typed wrapper per kind of argument.
CURLcode sw_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode sw_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode sw_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
typedef size_t (*sw_curl_write_callback)(char *data, size_t size, size_t count, void *context);
CURLcode sw_curl_setopt_write_function(CURL *handle, sw_curl_write_callback callback);
CURLcode sw_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode sw_curl_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode sw_curl_getinfo_string(CURL *handle, CURLINFO info, char **value);

// The multi interface runs several transfers of a target at once and keeps their connections for
// reuse; the message's union is read here so that Swift need not know its layout.
CURLM *sw_curl_multi_init(void);
CURLMcode sw_curl_multi_cleanup(CURLM *multi);
CURLMcode sw_curl_multi_add_handle(CURLM *multi, CURL *handle);
CURLMcode sw_curl_multi_remove_handle(CURLM *multi, CURL *handle);
CURLMcode sw_curl_multi_perform(CURLM *multi, int *running);
CURLMcode sw_curl_multi_poll(CURLM *multi, int timeout_milliseconds);
CURLMsg *sw_curl_multi_info_read(CURLM *multi, int *left);
CURLcode sw_curl_msg_result(const CURLMsg *message);
int sw_curl_msg_is_done(const CURLMsg *message);

struct curl_slist *sw_curl_slist_append(struct curl_slist *list, const char *line);
void sw_curl_slist_free_all(struct curl_slist *list);

// Whether this libcurl resolves names on a thread (or c-ares), so that its timeouts also bound
// DNS lookups; a synchronous resolver ignores them unless signals are allowed.
int sw_curl_has_async_dns(void);
const char *sw_curl_version_text(void);

#endif
