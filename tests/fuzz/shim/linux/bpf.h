/* Host build of src/bpf/syngate_xdp.c (tests/fuzz/fuzz_xdp.c): the kernel's
 * <linux/bpf.h>, with struct xdp_md's data and data_end widened to hold host
 * pointers (in the kernel they are 32-bit fields the verifier rewrites). */
#ifndef SYNGATE_FUZZ_SHIM_LINUX_BPF_H
#define SYNGATE_FUZZ_SHIM_LINUX_BPF_H

#define xdp_md xdp_md_kernel
#include_next <linux/bpf.h>
#undef xdp_md

struct xdp_md {
	unsigned long data;
	unsigned long data_end;
	unsigned long data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

#endif
