/* net_error.c: the words for the network layer's error codes (curl's
 * curl_easy_strerror manner); libenkrypt's codes fall through to ek_strerror. */
#include <enkrypt/ek_base.h>

#include "ek_net.h"

const char *ek_net_strerror(int err)
{
    switch (err) {
    case EK_NET_ERR_BROKER_UNREACHABLE: return "cannot reach the broker";
    case EK_NET_ERR_BROKER_LOST: return "lost the connection to the broker";
    case EK_NET_ERR_ID_TAKEN: return "the peer ID is taken";
    case EK_NET_ERR_INVALID_KEY: return "the broker refused the API key";
    case EK_NET_ERR_BROKER_REFUSED: return "the broker refused the registration";
    case EK_NET_ERR_PEER_UNAVAILABLE: return "the peer is not connected to the broker";
    case EK_NET_ERR_PEER_LEFT: return "the peer closed the connection";
    case EK_NET_ERR_ICE_FAILED: return "no network path to the peer (ICE failed)";
    case EK_NET_ERR_DTLS_FAILED: return "the DTLS transport failed";
    case EK_NET_ERR_TIMEOUT: return "the connection did not open in time";
    case EK_NET_ERR_PEER_TIMEOUT: return "the peer stopped answering";
    case EK_NET_ERR_WOULD_BLOCK: return "the send queue is full";
    case EK_NET_ERR_CLOSED: return "the connection is closed";
    case EK_NET_ERR_WEBRTC: return "WebRTC (webrtcbin) failure";
    case EK_NET_ERR_PROTOCOL: return "protocol violation by the peer or broker";
    case EK_NET_ERR_NOT_REGISTERED: return "not registered with the broker yet";
    case EK_NET_ERR_CONFIG: return "invalid network configuration";
    case EK_NET_ERR_SHUTDOWN: return "the network endpoint is shutting down";
    default: return ek_strerror(err);
    }
}
