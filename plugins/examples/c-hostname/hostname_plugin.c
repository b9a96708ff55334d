/*
 * Example dynamic plugin in C: names clients by their hardware address.
 *
 * In every OFFER and ACK it sets option 12 (host name) to "<prefix>-<mac in hex>",
 * where the prefix is the `site` a plugin before it left in the per-packet context,
 * else the `prefix` setting. A client that sent its own host name (option 12) keeps it.
 * It logs every durable lease change (committed, released, declined, expired) through
 * the server's log.
 *
 *   gcc -shared -fPIC -O2 -Wall -Wextra -I plugins/api/include \
 *       -o libhostname_plugin.so plugins/examples/c-hostname/hostname_plugin.c
 *
 *   [[plugin]]
 *   name = "hostname"
 *   path = "libhostname_plugin.so"
 *   [plugin.settings]
 *   prefix = "dev"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zerotouch_plugin.h"

typedef struct {
    const zt_host *host;
    char prefix[64];
} instance;

/* Reads `key = "value"` from the settings document (the plugin's own table, as TOML).
 * Returns 1 when found, 0 when absent, -1 when malformed. */
static int setting(const char *toml, const char *key, char *out, size_t out_len) {
    size_t klen = strlen(key);
    for (const char *line = toml; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        while (*line == ' ' || *line == '\t') line++;
        if (strncmp(line, key, klen) != 0) continue;
        const char *p = line + klen;
        while (*p == ' ') p++;
        if (*p != '=') continue;
        p++;
        while (*p == ' ') p++;
        if (*p != '"') return -1;
        p++;
        const char *end = strchr(p, '"');
        if (!end || (size_t)(end - p) >= out_len) return -1;
        memcpy(out, p, (size_t)(end - p));
        out[end - p] = 0;
        return 1;
    }
    return 0;
}

static void *create(const zt_host *host, const char *settings, size_t len, zt_error *err) {
    (void)len;
    instance *inst = calloc(1, sizeof *inst);
    if (!inst) {
        zt_set_error(err, "", "out of memory");
        return NULL;
    }
    inst->host = host;
    int found = setting(settings, "prefix", inst->prefix, sizeof inst->prefix);
    if (found < 0) {
        zt_set_error(err, "prefix", "expected a quoted string of at most 63 characters");
        free(inst);
        return NULL;
    }
    if (found == 0) strcpy(inst->prefix, "host");
    return inst;
}

static void destroy(void *p) { free(p); }

/* DHCPv4 only: the table sets reply_ready4, so no DHCPv6 reply ever reaches it. */
static int32_t reply_ready4(void *p, zt_context *ctx, const zt_packet *packet, zt_message *reply,
                            zt_error *err) {
    instance *inst = p;
    if (reply->len < ZT_DHCP4_OPTIONS) return ZT_CONTINUE;
    long t = zt_dhcp4_find(reply, 53);
    if (t < 0) return ZT_CONTINUE;
    uint8_t type = reply->data[t + 2];
    if (type != 2 && type != 5) return ZT_CONTINUE; /* OFFER, ACK */

    /* A client that named itself keeps its name. */
    zt_message request = {(uint8_t *)packet->wire, packet->wire_len, packet->wire_len};
    if (zt_dhcp4_find(&request, 12) >= 0) return ZT_CONTINUE;

    char prefix[64];
    size_t site_len = 0;
    const uint8_t *site = inst->host->context_get(ctx, "site", &site_len);
    if (site && site_len > 0 && site_len < sizeof prefix) {
        memcpy(prefix, site, site_len);
        prefix[site_len] = 0;
    } else {
        strcpy(prefix, inst->prefix);
    }

    uint8_t hlen = packet->wire[2];
    if (hlen > 16) hlen = 16;
    char name[64 + 1 + 33];
    int n = snprintf(name, sizeof name, "%s-", prefix);
    for (uint8_t i = 0; i < hlen && n + 2 < (int)sizeof name; i++) {
        n += snprintf(name + n, sizeof name - (size_t)n, "%02x", packet->wire[28 + i]);
    }
    if (zt_dhcp4_set(reply, 12, (const uint8_t *)name, (uint8_t)n) != 0) {
        zt_set_error(err, "", "no room for option 12 in the reply");
        return ZT_ERROR;
    }
    inst->host->log(inst->host->log_handle, ZT_LOG_DEBUG, name);
    return ZT_CONTINUE;
}

static int32_t lease_event(void *p, uint32_t event, const zt_lease *lease, zt_error *err) {
    (void)err;
    instance *inst = p;
    static const char *names[] = {"committed", "released", "declined", "expired"};
    if (event < ZT_HOOK_LEASE_COMMITTED || event > ZT_HOOK_LEASE_EXPIRED || lease->family != 4)
        return ZT_CONTINUE;
    char line[128];
    snprintf(line, sizeof line, "lease %s %u.%u.%u.%u until %llu", names[event - ZT_HOOK_LEASE_COMMITTED],
             lease->address[0], lease->address[1], lease->address[2], lease->address[3],
             (unsigned long long)lease->expires);
    inst->host->log(inst->host->log_handle, ZT_LOG_INFO, line);
    return ZT_CONTINUE;
}

static const zt_plugin_vtable table = {
#ifdef ZT_EXAMPLE_WRONG_ABI
    .abi_version = ZT_ABI_VERSION + 1, /* for the test of the version check */
#else
    .abi_version = ZT_ABI_VERSION,
#endif
#ifdef ZT_EXAMPLE_SHORT_TABLE
    .struct_size = 16, /* for the test of the size check */
#else
    .struct_size = sizeof(zt_plugin_vtable),
#endif
    .name = "hostname",
    .create = create,
    .destroy = destroy,
    .reply_ready4 = reply_ready4, /* the hooks it sets are the hooks it serves */
    .lease_event = lease_event,
};

const zt_plugin_vtable *zerotouch_plugin_entry(void) { return &table; }
