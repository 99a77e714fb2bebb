#define CURL_DISABLE_TYPECHECK 1
#include "CCurl.h"

#include <dlfcn.h>
#include <stdio.h>

// Every libcurl function sitewarden calls. The newest is curl_easy_option_by_id (7.73).
#define SW_CURL_FUNCTIONS(X)   \
    X(curl_global_init)        \
    X(curl_easy_init)          \
    X(curl_easy_cleanup)       \
    X(curl_easy_perform)       \
    X(curl_easy_strerror)      \
    X(curl_easy_option_by_id)  \
    X(curl_easy_setopt)        \
    X(curl_easy_getinfo)       \
    X(curl_multi_init)         \
    X(curl_multi_cleanup)      \
    X(curl_multi_add_handle)   \
    X(curl_multi_remove_handle) \
    X(curl_multi_perform)      \
    X(curl_multi_poll)         \
    X(curl_multi_info_read)    \
    X(curl_slist_append)       \
    X(curl_slist_free_all)     \
    X(curl_version_info)

struct functions {
#define SW_MEMBER(name) __typeof__(&name) name;
    SW_CURL_FUNCTIONS(SW_MEMBER)
#undef SW_MEMBER
};

// Written once, by the committing load, before any wrapper runs (the Swift side makes that load
// a lazily initialised static, which orders it before every later use on any thread).
static struct functions curl;

int sw_curl_load(const char *library, int commit, char *error, size_t error_size) {
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        snprintf(error, error_size, "%s", dlerror());
        return -1;
    }
    struct functions found;
    void *symbol;
#define SW_RESOLVE(name)                                                                             \
    symbol = dlsym(handle, #name);                                                                   \
    if (symbol == NULL) {                                                                            \
        snprintf(error, error_size, "%s has no %s (libcurl 7.73 or later is needed)", library, #name); \
        dlclose(handle);                                                                             \
        return -1;                                                                                   \
    }                                                                                                \
    found.name = (__typeof__(found.name))symbol;
    SW_CURL_FUNCTIONS(SW_RESOLVE)
#undef SW_RESOLVE
    // A committed library stays loaded for good: libcurl and OpenSSL do not support unloading.
    if (commit) curl = found;
    return 0;
}

// The member is called as (curl.name)(...) so that no macro of curl.h of the same name expands.
CURLcode sw_curl_global_init(long flags) { return (curl.curl_global_init)(flags); }
CURL *sw_curl_easy_init(void) { return (curl.curl_easy_init)(); }
void sw_curl_easy_cleanup(CURL *handle) { (curl.curl_easy_cleanup)(handle); }
CURLcode sw_curl_easy_perform(CURL *handle) { return (curl.curl_easy_perform)(handle); }
const char *sw_curl_easy_strerror(CURLcode code) { return (curl.curl_easy_strerror)(code); }

const char *sw_curl_option_name(CURLoption option) {
    const struct curl_easyoption *found = (curl.curl_easy_option_by_id)(option);
    return found != NULL ? found->name : NULL;
}

CURLcode sw_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return (curl.curl_easy_setopt)(handle, option, value);
}

CURLcode sw_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return (curl.curl_easy_setopt)(handle, option, value);
}

CURLcode sw_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return (curl.curl_easy_setopt)(handle, option, value);
}

CURLcode sw_curl_setopt_write_function(CURL *handle, sw_curl_write_callback callback) {
    return (curl.curl_easy_setopt)(handle, CURLOPT_WRITEFUNCTION, callback);
}

CURLcode sw_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return (curl.curl_easy_getinfo)(handle, info, value);
}

CURLcode sw_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return (curl.curl_easy_getinfo)(handle, info, value);
}

CURLcode sw_curl_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return (curl.curl_easy_getinfo)(handle, info, value);
}

CURLM *sw_curl_multi_init(void) { return (curl.curl_multi_init)(); }
CURLMcode sw_curl_multi_cleanup(CURLM *multi) { return (curl.curl_multi_cleanup)(multi); }

CURLMcode sw_curl_multi_add_handle(CURLM *multi, CURL *handle) { return (curl.curl_multi_add_handle)(multi, handle); }

CURLMcode sw_curl_multi_remove_handle(CURLM *multi, CURL *handle) {
    return (curl.curl_multi_remove_handle)(multi, handle);
}

CURLMcode sw_curl_multi_perform(CURLM *multi, int *running) { return (curl.curl_multi_perform)(multi, running); }

CURLMcode sw_curl_multi_poll(CURLM *multi, int timeout_milliseconds) {
    return (curl.curl_multi_poll)(multi, NULL, 0, timeout_milliseconds, NULL);
}

CURLMsg *sw_curl_multi_info_read(CURLM *multi, int *left) { return (curl.curl_multi_info_read)(multi, left); }
CURLcode sw_curl_msg_result(const CURLMsg *message) { return message->data.result; }
int sw_curl_msg_is_done(const CURLMsg *message) { return message->msg == CURLMSG_DONE; }

struct curl_slist *sw_curl_slist_append(struct curl_slist *list, const char *line) {
    return (curl.curl_slist_append)(list, line);
}

void sw_curl_slist_free_all(struct curl_slist *list) { (curl.curl_slist_free_all)(list); }

int sw_curl_has_async_dns(void) {
    const curl_version_info_data *info = (curl.curl_version_info)(CURLVERSION_NOW);
    return info != NULL && (info->features & CURL_VERSION_ASYNCHDNS) != 0;
}

const char *sw_curl_version_text(void) {
    const curl_version_info_data *info = (curl.curl_version_info)(CURLVERSION_NOW);
    return info != NULL ? info->version : "unknown";
}
