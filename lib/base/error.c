/* error.c: the words for each ek_err code (curl_easy_strerror's manner). */
#include <enkrypt/ek_base.h>

const char *ek_strerror(int err)
{
    switch ((ek_err)err) {
    case EK_OK: return "success";
    case EK_ERR_INVALID_ARG: return "invalid argument";
    case EK_ERR_NOMEM: return "out of memory";
    case EK_ERR_CRYPTO: return "cryptographic backend failure";
    case EK_ERR_AUTH: return "authentication failed";
    case EK_ERR_DECODE: return "malformed input";
    case EK_ERR_TRUNCATED: return "input truncated";
    case EK_ERR_TRAILING: return "unexpected trailing bytes";
    case EK_ERR_TOO_LARGE: return "length exceeds limit";
    case EK_ERR_WEAK_KEY: return "weak or small-order key";
    case EK_ERR_BAD_KEY: return "invalid key";
    case EK_ERR_LIMIT: return "counter or budget exhausted";
    case EK_ERR_RNG: return "random number generator failure";
    case EK_ERR_UNSUPPORTED: return "not supported";
    case EK_ERR_STATE: return "operation not allowed in this state";
    }
    return "unknown error";
}
