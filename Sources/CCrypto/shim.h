#ifndef SITEWARDEN_CCRYPTO_SHIM_H
#define SITEWARDEN_CCRYPTO_SHIM_H

#include <openssl/evp.h>
#include <openssl/crypto.h>

#endif
