/* syngate XDP fast path, daemon side: see include/syngate/io/xdp.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "syngate/io/log.h"
#include "syngate/io/xdp.h"

#ifndef SYNGATE_XDP_INSTALLED
#define SYNGATE_XDP_INSTALLED "/usr/local/lib/syngate/syngate_xdp.o"
#endif

_Static_assert(SG_XDP_SECRET_LEN == SG_COOKIE_SECRET_LEN, "one secret size");

struct sg_xdp {
	struct bpf_object *obj;
	int links[SG_MAX_IFACES];
	enum sg_xdp_mode link_mode[SG_MAX_IFACES];
	int nlinks;
	int tc_links[SG_MAX_IFACES]; /* syngate_tc on the same interfaces (tcx) */
	int ntc;
	bool tc_warned;
	int ctl_fd, cur_fd, backends_fd, stats_fd;
	int ncpus;
	uint64_t *percpu; /* ncpus values, read under the lock */
	struct sg_log_limit rl_counters; /* failed counter reads (under the lock) */
	pthread_mutex_t lock;
	struct sg_xdp_ctl ctl; /* what the program reads, kept here whole */
	uint32_t cur;	       /* the entry of sg_ctl it reads */
	uint64_t engaged;      /* bit i: worker i answers SYNs */
};

#define SG_XDP_COUNTER_NAME(id, name, total) [id] = name,
static const char *const counter_names[SG_XDP__COUNT] = {SG_XDP_COUNTERS(SG_XDP_COUNTER_NAME)};
#undef SG_XDP_COUNTER_NAME
#define SG_XDP_COUNTER_TOTAL(id, name, total) [id] = total,
static const enum sg_xdp_counter counter_totals[SG_XDP__COUNT] = {
	SG_XDP_COUNTERS(SG_XDP_COUNTER_TOTAL)};
#undef SG_XDP_COUNTER_TOTAL

const char *sg_xdp_counter_name(enum sg_xdp_counter c)
{
	return c < SG_XDP__COUNT ? counter_names[c] : "unknown";
}

enum sg_xdp_counter sg_xdp_counter_total(enum sg_xdp_counter c)
{
	return c < SG_XDP__COUNT ? counter_totals[c] : c;
}

const char *sg_xdp_mode_name(enum sg_xdp_mode m)
{
	return m == SG_XDP_NATIVE	? "native"
	       : m == SG_XDP_GENERIC ? "generic"
	       : m == SG_XDP_AUTO    ? "auto"
				     : "off";
}

int sg_xdp_mode_parse(const char *s)
{
	if (!strcmp(s, "off") || !strcmp(s, "no"))
		return SG_XDP_OFF;
	if (!strcmp(s, "native"))
		return SG_XDP_NATIVE;
	if (!strcmp(s, "generic"))
		return SG_XDP_GENERIC;
	if (!strcmp(s, "auto"))
		return SG_XDP_AUTO;
	return -1;
}

void sg_xdp_default_object(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(out, len, "%s/syngate_xdp.o", exe);
			/* effective ids and capabilities, as the open will use: a
			 * service user that reaches the build tree only through
			 * CAP_DAC_READ_SEARCH (plain access() drops it) */
			if (faccessat(AT_FDCWD, out, R_OK, AT_EACCESS) == 0)
				return;
		}
	}
	snprintf(out, len, "%s", SYNGATE_XDP_INSTALLED);
}

/* libbpf's messages: warnings (the verifier's log among them) to our log. */
__attribute__((format(printf, 2, 0))) static int on_libbpf(enum libbpf_print_level level,
						     const char *fmt, va_list ap)
{
	char msg[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	if (msg[0])
		sg_log(level == LIBBPF_WARN ? SG_LOG_WARN : SG_LOG_INFO, "%s", msg);
	return 0;
}

/* Writes the control record to the entry the program does not read, then
 * points the program at it.  Called with the lock held. */
static int publish(struct sg_xdp *x)
{
	uint32_t zero = 0, next = x->cur ^ 1;

	if (bpf_map_update_elem(x->ctl_fd, &next, &x->ctl, BPF_ANY) != 0 ||
	    bpf_map_update_elem(x->cur_fd, &zero, &next, BPF_ANY) != 0)
		return sg_log_warn("XDP: map update"), -1;
	x->cur = next;
	return 0;
}

static void params_put(struct sg_xdp_ctl *c, const struct sg_xdp_params *p)
{
	int i;

	memset(c->ports, 0, sizeof(c->ports));
	for (i = 0; i < p->nports; i++)
		c->ports[p->ports[i] >> 6] |= 1ULL << (p->ports[i] & 63);
	c->ipv4 = p->ipv4;
	c->ipv6 = p->ipv6;
	c->mss4 = p->mss4;
	c->mss6 = p->mss6;
	c->default_wscale = p->default_wscale;
	c->learn_first = p->learn_first;
	c->drop_acks = p->drop_acks;
	c->known_mark = p->known_mark;
}

int sg_xdp_configure(struct sg_xdp *x, const struct sg_xdp_params *p)
{
	int r;

	pthread_mutex_lock(&x->lock);
	params_put(&x->ctl, p);
	r = publish(x);
	pthread_mutex_unlock(&x->lock);
	return r;
}

int sg_xdp_set_keys(struct sg_xdp *x, const struct sg_cookie_keys *k)
{
	int r;

	pthread_mutex_lock(&x->lock);
	x->ctl.slot = k->slot;
	memcpy(x->ctl.secret, k->secret, sizeof(x->ctl.secret));
	r = publish(x);
	pthread_mutex_unlock(&x->lock);
	return r;
}

int sg_xdp_engage(struct sg_xdp *x, unsigned id, bool on)
{
	uint64_t bit = 1ULL << (id & 63);
	uint32_t was;
	int r = 0;

	pthread_mutex_lock(&x->lock);
	was = x->ctl.engaged;
	x->engaged = on ? x->engaged | bit : x->engaged & ~bit;
	x->ctl.engaged = x->engaged != 0;
	if (x->ctl.engaged != was) {
		r = publish(x);
		sg_log_event(NULL, SG_LOG_INFO, "xdp_cookies", "the XDP program follows the workers",
			     "engaged=%u", x->ctl.engaged ? 1u : 0u);
	}
	pthread_mutex_unlock(&x->lock);
	return r;
}

static void bkey(struct sg_xdp_bkey *k, uint8_t family, const uint8_t *addr, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->port = port;
	memcpy(k->addr, addr, sg_addr_len(family));
}

int sg_xdp_learned(struct sg_xdp *x, uint8_t family, const uint8_t *addr, uint16_t port,
		   const struct sg_xdp_backend *b)
{
	struct sg_xdp_bkey k;

	bkey(&k, family, addr, port);
	if (bpf_map_update_elem(x->backends_fd, &k, b, BPF_ANY) != 0)
		return sg_log_warn("XDP: backend map update"), -1;
	return 0;
}

int sg_xdp_backend(struct sg_xdp *x, uint8_t family, const uint8_t *addr, uint16_t port,
		   struct sg_xdp_backend *out)
{
	struct sg_xdp_bkey k;

	bkey(&k, family, addr, port);
	return bpf_map_lookup_elem(x->backends_fd, &k, out) == 0 ? 0 : -1;
}

int sg_xdp_counters(struct sg_xdp *x, uint64_t out[SG_XDP__COUNT])
{
	uint32_t k;
	int i, r = 0;

	pthread_mutex_lock(&x->lock);
	for (k = 0; k < SG_XDP__COUNT && r == 0; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(x->stats_fd, &k, x->percpu) != 0)
			r = -1;
		for (i = 0; r == 0 && i < x->ncpus; i++)
			out[k] += x->percpu[i];
	}
	if (r) /* read every 100 ms: said once a minute at most */
		sg_log_event(&x->rl_counters, SG_LOG_WARN, "xdp_counters_unreadable",
			     "reading the XDP program's counters failed", "err=\"%s\"",
			     strerror(errno));
	pthread_mutex_unlock(&x->lock);
	return r;
}

static int map_fd(struct sg_xdp *x, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(x->obj, name);

	if (fd < 0)
		sg_log_warnx("XDP: the object has no map '%s': is it syngate's?", name);
	return fd;
}

/* Attaches in @mode; -errno on failure, logged when @quiet is false. */
static int attach_mode(struct sg_xdp *x, int prog_fd, unsigned ifindex, const char *ifname,
		       enum sg_xdp_mode mode, bool quiet)
{
	LIBBPF_OPTS(bpf_link_create_opts, o,
		    .flags = mode == SG_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
	int fd = bpf_link_create(prog_fd, (int)ifindex, BPF_XDP, &o);
	int e = errno;

	if (fd >= 0) {
		x->link_mode[x->nlinks] = mode;
		x->links[x->nlinks++] = fd;
		return 0;
	}
	if (!quiet)
		sg_log_warnx("XDP: cannot attach to %s in %s mode: %s%s", ifname,
			     sg_xdp_mode_name(mode), strerror(e),
			     mode == SG_XDP_NATIVE ? " (the driver may lack XDP: try xdp = generic)"
			     : e == EBUSY	   ? " (another XDP program is attached)"
						   : "");
	return -e;
}

/* BPF_TCX_INGRESS of Linux 6.6's uapi (Debian 12's headers are older). */
#define SG_BPF_TCX_INGRESS 46

/* Attaches the TC program to @ifname's ingress through a tcx link (held
 * like the XDP ones: it goes with the process).  Without it (a kernel
 * before 6.6) everything works, reused-port SYNs just take a trip to the
 * daemon; so a failure is logged once and not an error. */
static void attach_tc(struct sg_xdp *x, int prog_fd, const char *ifname)
{
	unsigned ifindex = if_nametoindex(ifname);
	int fd = ifindex ? bpf_link_create(prog_fd, (int)ifindex,
					   (enum bpf_attach_type)SG_BPF_TCX_INGRESS, NULL)
			 : -1;

	if (fd >= 0) {
		x->tc_links[x->ntc++] = fd;
		return;
	}
	if (x->ntc == 0 && !x->tc_warned)
		sg_log(SG_LOG_INFO, "XDP: no tcx link on %s (%s; Linux 6.6 or later): SYNs of reused "
		       "ports go through the daemon", ifname, strerror(errno));
	x->tc_warned = true;
}

/* True for a device with a driver of its own (/sys/class/net/IF/device): a
 * NIC, where native XDP is the point; virtual devices get generic. */
static bool has_device(const char *ifname)
{
	char p[160];

	snprintf(p, sizeof(p), "/sys/class/net/%.*s/device", IF_NAMESIZE, ifname);
	return access(p, F_OK) == 0;
}

static int attach(struct sg_xdp *x, int prog_fd, const char *ifname, enum sg_xdp_mode mode)
{
	unsigned ifindex = if_nametoindex(ifname);

	if (!ifindex)
		return sg_log_warn("XDP: interface '%s'", ifname), -1;
	if (mode != SG_XDP_AUTO)
		return attach_mode(x, prog_fd, ifindex, ifname, mode, false) == 0 ? 0 : -1;
	if (has_device(ifname) &&
	    attach_mode(x, prog_fd, ifindex, ifname, SG_XDP_NATIVE, true) == 0)
		return 0;
	return attach_mode(x, prog_fd, ifindex, ifname, SG_XDP_GENERIC, false) == 0 ? 0 : -1;
}

/* Adds @name to @out (@n so far, no duplicates, at most SG_MAX_IFACES). */
static int add_iface(char (*out)[16], int n, const char *name)
{
	if (strlen(name) >= 16 || !strcmp(name, "lo"))
		return n;
	for (int i = 0; i < n; i++)
		if (!strcmp(out[i], name))
			return n;
	if (n == SG_MAX_IFACES) {
		sg_log_warnx("XDP: more than %d interfaces; not attached to %s (name the "
			     "client-facing ones in 'interfaces')", SG_MAX_IFACES, name);
		return n;
	}
	snprintf(out[n], 16, "%s", name);
	return n + 1;
}

/* The interfaces of the default routes (/proc/net/route: destination and
 * mask 0; /proc/net/ipv6_route: ::/0), where clients come from on a router
 * in front of servers; the servers' side carries no SYNs to answer, and
 * generic XDP there would only cost every packet a copy. */
static int default_route_interfaces(char (*out)[16])
{
	char line[256], name[32], dst[40], mask[40];
	unsigned plen;
	int n = 0;
	FILE *f = fopen("/proc/net/route", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %39s %*s %*s %*s %*s %*s %39s", name, dst, mask) == 3 &&
		    !strcmp(dst, "00000000") && !strcmp(mask, "00000000"))
			n = add_iface(out, n, name);
	if (f)
		fclose(f);
	f = fopen("/proc/net/ipv6_route", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%39s %x %*s %*s %*s %*s %*s %*s %*s %31s", dst, &plen, name) == 3 &&
		    plen == 0 && !strcmp(dst, "00000000000000000000000000000000"))
			n = add_iface(out, n, name);
	if (f)
		fclose(f);
	return n;
}

/* Every interface that is up, but loopback, into @out.  Returns how many. */
static int up_interfaces(char (*out)[16])
{
	struct if_nameindex *all = if_nameindex(), *i;
	int n = 0;

	if (!all)
		return sg_log_warn("XDP: listing interfaces"), 0;
	for (i = all; i->if_index; i++) {
		char p[160];
		unsigned flags = 0;
		FILE *f;

		snprintf(p, sizeof(p), "/sys/class/net/%.*s/flags", IF_NAMESIZE, i->if_name);
		f = fopen(p, "re");
		if (!f)
			continue;
		if (fscanf(f, "%x", &flags) != 1)
			flags = 0;
		fclose(f);
		if ((flags & IFF_UP) && !(flags & IFF_LOOPBACK))
			n = add_iface(out, n, i->if_name);
	}
	if_freenameindex(all);
	return n;
}

/* The client-facing interfaces when none are named: those of the default
 * routes, else every interface that is up. */
static int client_interfaces(char (*out)[16])
{
	int n = default_route_interfaces(out);

	return n > 0 ? n : up_interfaces(out);
}

int sg_xdp_attached(const struct sg_xdp *x, enum sg_xdp_mode *modes)
{
	if (modes)
		memcpy(modes, x->link_mode, sizeof(x->link_mode));
	return x->nlinks;
}

struct sg_xdp *sg_xdp_open(const char *path, const char (*ifaces)[16], int nifaces,
			   enum sg_xdp_mode mode, const struct sg_xdp_params *p)
{
	struct sg_xdp *x = calloc(1, sizeof(*x));
	char found[SG_MAX_IFACES][16];
	struct bpf_program *prog, *tc;
	char names[SG_MAX_IFACES * 26] = "";
	int i;

	if (!x)
		return sg_log_warn("XDP"), NULL;
	pthread_mutex_init(&x->lock, NULL);
	libbpf_set_print(on_libbpf);
	if (nifaces == 0) {
		nifaces = client_interfaces(found);
		ifaces = (const char(*)[16])found;
	}
	if (nifaces < 1 || nifaces > SG_MAX_IFACES) {
		sg_log_warnx("XDP: no interface to attach to (none is up, or too many named)");
		goto fail;
	}
	x->rl_counters = SG_LOG_LIMIT(60);
	x->ncpus = libbpf_num_possible_cpus();
	x->percpu = x->ncpus > 0 ? calloc((size_t)x->ncpus, sizeof(uint64_t)) : NULL;
	if (!x->percpu) {
		sg_log_warn("XDP: CPU count");
		goto fail;
	}
	x->obj = bpf_object__open_file(path, NULL);
	if (!x->obj) {
		sg_log_warn("XDP: cannot open %s (set xdp-object)", path);
		goto fail;
	}
	if (bpf_object__load(x->obj) != 0) {
		sg_log_warn("XDP: cannot load %s (needs CAP_BPF/CAP_SYS_ADMIN and a kernel with "
			    "BPF, bpf_loop, bpf_xdp_load_bytes and conntrack's kfuncs "
			    "(bpf_xdp_ct_lookup; nf_conntrack loaded): 5.18 or later)",
			    path);
		goto fail;
	}
	prog = bpf_object__find_program_by_name(x->obj, "syngate_xdp");
	tc = bpf_object__find_program_by_name(x->obj, "syngate_tc");
	x->ctl_fd = map_fd(x, "sg_ctl");
	x->cur_fd = map_fd(x, "sg_cur");
	x->backends_fd = map_fd(x, "sg_backends");
	x->stats_fd = map_fd(x, "sg_stats");
	if (!prog || x->ctl_fd < 0 || x->cur_fd < 0 || x->backends_fd < 0 ||
	    x->stats_fd < 0)
		goto fail;
	params_put(&x->ctl, p);
	if (publish(x) != 0)
		goto fail;
	for (i = 0; i < nifaces; i++) {
		if (attach(x, bpf_program__fd(prog), ifaces[i], mode) != 0)
			goto fail;
		if (tc)
			attach_tc(x, bpf_program__fd(tc), ifaces[i]);
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s:%s",
			 i ? "," : "", ifaces[i], sg_xdp_mode_name(x->link_mode[i]));
	}
	sg_log_event(NULL, SG_LOG_INFO, "xdp_on", "XDP fast path attached", "interfaces=%s object=%s",
		     names, path);
	return x;
fail:
	sg_xdp_close(x);
	return NULL;
}

void sg_xdp_close(struct sg_xdp *x)
{
	int i;

	if (!x)
		return;
	for (i = 0; i < x->nlinks; i++)
		close(x->links[i]);
	for (i = 0; i < x->ntc; i++)
		close(x->tc_links[i]);
	bpf_object__close(x->obj);
	free(x->percpu);
	pthread_mutex_destroy(&x->lock);
	free(x);
}
