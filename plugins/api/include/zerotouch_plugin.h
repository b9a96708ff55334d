/*
 * zerotouch_plugin.h: the C ABI of zerotouch-dhcpd plugins, version 2.
 *
 * A plugin is a shared object exporting
 *     const zt_plugin_vtable *zerotouch_plugin_entry(void);
 * which returns a pointer to a static table. The server checks abi_version (must be
 * ZT_ABI_VERSION) and struct_size (at least version 2's) before it reads anything else.
 * The hooks a plugin serves are the hook functions its table sets (non-NULL), one per
 * family: a DHCPv4-only plugin sets only the *4 ones and never sees a DHCPv6 message.
 * Packets cross in DHCP wire format; the per-packet context crosses as named octet
 * strings through the zt_host callbacks. See docs/plugins.md (porting from version 1).
 *
 * Mirrors zerotouch_plugin::abi (plugins/api/src/abi.rs); a test checks the sizes.
 */
#ifndef ZEROTOUCH_PLUGIN_H
#define ZEROTOUCH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZT_ABI_VERSION 2u

/* Hook points. instance_hooks answers bits: DHCPv4's hook h is ZT_HOOK_BIT4(h),
 * DHCPv6's ZT_HOOK_BIT6(h). The lease events are the `event` of lease_event. */
enum zt_hook {
    ZT_HOOK_PACKET_RECEIVED = 0,
    ZT_HOOK_CLASSES_ASSIGNED = 1, /* Rust plugins only */
    ZT_HOOK_SUBNET_SELECTED = 2,  /* Rust plugins only */
    ZT_HOOK_HOST_LOOKED_UP = 3,   /* Rust plugins only */
    ZT_HOOK_LEASE_CHOSEN = 4,     /* Rust plugins only */
    ZT_HOOK_REPLY_READY = 5,
    ZT_HOOK_LEASE_COMMITTED = 6,
    ZT_HOOK_LEASE_RELEASED = 7,
    ZT_HOOK_LEASE_DECLINED = 8,
    ZT_HOOK_LEASE_EXPIRED = 9
};
#define ZT_HOOK_BIT4(h) (1u << (h))
#define ZT_HOOK_BIT6(h) (1u << (16 + (h)))

/* Hook return codes. */
#define ZT_CONTINUE 0
#define ZT_SKIP_REST 1
#define ZT_DROP 2
#define ZT_RESPOND 3
#define ZT_ERROR (-1)

#define ZT_LOG_ERROR 1u
#define ZT_LOG_WARN 2u
#define ZT_LOG_INFO 3u
#define ZT_LOG_DEBUG 4u

/* Why a call failed; NUL-terminated. key: the settings key at fault, for create. */
typedef struct zt_error {
    char message[256];
    char key[128];
} zt_error;

typedef struct zt_packet {
    uint8_t family;       /* 4 or 6 */
    uint8_t message_type; /* DHCPv4 option 53, DHCPv6 msg-type */
    uint16_t source_port;
    uint8_t reserved[4];
    uint8_t source[16];   /* IPv4 in the first 4 octets */
    const uint8_t *wire;  /* the request as received */
    size_t wire_len;
    const char *interface;
    uint64_t now;         /* unix seconds */
} zt_packet;

/* A message the plugin may rewrite in place: len octets of capacity. */
typedef struct zt_message {
    uint8_t *data;
    size_t len;
    size_t capacity;
} zt_message;

typedef struct zt_lease {
    uint8_t family;
    uint8_t state; /* 1 offered, 2 active, 3 released, 4 declined, 5 expired */
    uint8_t htype;
    uint8_t hwaddr_len;
    uint8_t reserved[4];
    uint8_t address[16];
    uint8_t hwaddr[16];
    const uint8_t *client_id;
    size_t client_id_len;
    uint64_t starts;
    uint64_t expires;
    const char *hostname; /* or NULL */
} zt_lease;

typedef struct zt_context zt_context; /* opaque */

typedef struct zt_host {
    uint32_t abi_version;
    uint32_t struct_size;
    const uint8_t *(*context_get)(zt_context *ctx, const char *name, size_t *len);
    void (*context_set)(zt_context *ctx, const char *name, const uint8_t *data, size_t len);
    void (*context_each)(zt_context *ctx,
                         void (*each)(void *user, const char *name, const uint8_t *data, size_t len),
                         void *user);
    void (*log)(const void *log_handle, uint32_t level, const char *message);
    const void *log_handle;
} zt_host;

/* A packet hook. packet_received*: `message` is empty (capacity octets) and the plugin
 * may write a whole reply into it and return ZT_RESPOND. reply_ready*: `message` holds
 * the reply in wire format (DHCPv6: the client's, without relay wrappers) to rewrite. */
typedef int32_t (*zt_packet_hook)(void *instance, zt_context *ctx, const zt_packet *packet,
                                  zt_message *message, zt_error *err);

typedef struct zt_plugin_vtable {
    uint32_t abi_version; /* ZT_ABI_VERSION */
    uint32_t struct_size; /* sizeof(zt_plugin_vtable) */
    const char *name;
    void *(*create)(const zt_host *host, const char *settings_toml, size_t len, zt_error *err);
    void (*destroy)(void *instance);
    /* The hooks served: set those the plugin has, leave the others NULL. */
    zt_packet_hook packet_received4;
    zt_packet_hook reply_ready4;
    zt_packet_hook packet_received6;
    zt_packet_hook reply_ready6;
    /* Lease changes of both families (lease->family). */
    int32_t (*lease_event)(void *instance, uint32_t event, const zt_lease *lease, zt_error *err);
    /* Or NULL: narrows the hooks one instance serves by its settings
     * (ZT_HOOK_BIT4/6 bits; lease events: ZT_HOOK_BIT4 of any lease hook). */
    uint32_t (*instance_hooks)(void *instance);
} zt_plugin_vtable;

/* The layout the server expects on 64-bit targets (checked against the Rust side). */
#if !defined(__cplusplus) && UINTPTR_MAX == 0xffffffffffffffffu
_Static_assert(sizeof(zt_packet) == 56, "zt_packet layout");
_Static_assert(sizeof(zt_message) == 24, "zt_message layout");
_Static_assert(sizeof(zt_lease) == 80, "zt_lease layout");
_Static_assert(sizeof(zt_error) == 384, "zt_error layout");
_Static_assert(sizeof(zt_host) == 48, "zt_host layout");
_Static_assert(sizeof(zt_plugin_vtable) == 80, "zt_plugin_vtable layout");
#endif

/* ---- helpers for DHCPv4 messages in wire format (options after octet 240) ---- */

#define ZT_DHCP4_OPTIONS 240

static inline void zt_set_error(zt_error *err, const char *key, const char *message) {
    if (!err) return;
    strncpy(err->key, key ? key : "", sizeof err->key - 1);
    err->key[sizeof err->key - 1] = 0;
    strncpy(err->message, message, sizeof err->message - 1);
    err->message[sizeof err->message - 1] = 0;
}

/* Offset of option `code` in msg (its code octet), or -1. Stops at END. */
static inline long zt_dhcp4_find(const zt_message *msg, uint8_t code) {
    size_t i = ZT_DHCP4_OPTIONS;
    while (i < msg->len) {
        uint8_t c = msg->data[i];
        if (c == 255) return -1;
        if (c == 0) { i++; continue; }
        if (i + 1 >= msg->len) return -1;
        if (c == code) return (long)i;
        i += 2 + (size_t)msg->data[i + 1];
    }
    return -1;
}

/* Removes option `code` (one occurrence); returns 1 if it was there. */
static inline int zt_dhcp4_remove(zt_message *msg, uint8_t code) {
    long at = zt_dhcp4_find(msg, code);
    if (at < 0) return 0;
    size_t n = 2 + (size_t)msg->data[at + 1];
    memmove(msg->data + at, msg->data + at + n, msg->len - (size_t)at - n);
    msg->len -= n;
    return 1;
}

/* Sets option `code` to `data` (at most 255 octets): replaces it, or adds it before
 * END. Returns 0, or -1 when the buffer is too small or the message has no END. */
static inline int zt_dhcp4_set(zt_message *msg, uint8_t code, const uint8_t *data, uint8_t len) {
    zt_dhcp4_remove(msg, code);
    size_t end = ZT_DHCP4_OPTIONS;
    while (end < msg->len && msg->data[end] != 255) {
        end += msg->data[end] == 0 ? 1 : 2 + (size_t)msg->data[end + 1];
    }
    if (end >= msg->len) return -1;
    if (msg->len + 2 + len > msg->capacity) return -1;
    memmove(msg->data + end + 2 + len, msg->data + end, msg->len - end);
    msg->data[end] = code;
    msg->data[end + 1] = len;
    memcpy(msg->data + end + 2, data, len);
    msg->len += 2 + (size_t)len;
    return 0;
}

#ifdef __cplusplus
}
#endif
#endif
