#ifndef SITEWARDEN_CCURL_SHIM_H
#define SITEWARDEN_CCURL_SHIM_H

#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call.
// These typed wrappers are the only way the Swift code touches them.

static inline CURLcode sw_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode sw_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode sw_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

typedef size_t (*sw_curl_write_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode sw_curl_setopt_write_function(CURL *handle, sw_curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

static inline CURLcode sw_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode sw_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode sw_curl_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

// The multi interface runs several transfers of a target at once and keeps their connections
// for reuse. curl_multi_setopt is variadic; the message's union is read through a shim so Swift
// need not know its layout.

static inline CURLMcode sw_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

static inline CURLcode sw_curl_msg_result(const CURLMsg *message) {
    return message->data.result;
}

static inline int sw_curl_msg_is_done(const CURLMsg *message) {
    return message->msg == CURLMSG_DONE;
}

// Whether this libcurl resolves names on a thread (or c-ares), so that its timeouts also bound
// DNS lookups; a synchronous resolver ignores them unless signals are allowed.
static inline int sw_curl_has_async_dns(void) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    return info != NULL && (info->features & CURL_VERSION_ASYNCHDNS) != 0;
}

static inline const char *sw_curl_version_text(void) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    return info != NULL ? info->version : "unknown";
}

#endif
