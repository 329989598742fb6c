/* Host build of src/bpf/syngate_xdp.c (tests/fuzz/fuzz_xdp.c): libbpf's
 * <bpf/bpf_helpers.h> for a program that runs as ordinary code.  The
 * section and map macros keep their shape (maps become plain structs that
 * only their addresses matter of), and the helpers the program calls are
 * declared here and defined by fuzz_xdp.c after it includes the program,
 * with the kernel's semantics (net/core/filter.c). */
#ifndef SYNGATE_FUZZ_SHIM_BPF_HELPERS_H
#define SYNGATE_FUZZ_SHIM_BPF_HELPERS_H

#include <linux/bpf.h>
#include <linux/types.h>

#define SEC(name)
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __noinline __attribute__((noinline))
#define __ksym

static void *bpf_map_lookup_elem(void *map, const void *key);
static __u64 bpf_ktime_get_ns(void);
static long bpf_loop(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags);
static __s64 bpf_csum_diff(__be32 *from, __u32 from_size, __be32 *to, __u32 to_size,
			   __wsum seed);
static long bpf_xdp_adjust_tail(struct xdp_md *ctx, int delta);
static __u64 bpf_xdp_get_buff_len(struct xdp_md *ctx);
static long bpf_xdp_load_bytes(struct xdp_md *ctx, __u32 offset, void *buf, __u32 len);
static long bpf_xdp_store_bytes(struct xdp_md *ctx, __u32 offset, void *buf, __u32 len);

#endif
