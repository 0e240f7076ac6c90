/* mask.h — which pixels an image coupling conditions on and which it transforms.
 *
 * An image coupling (conv_coupling.h) splits the positions (y, x, channel) of an
 * h×w×c image into three roles: COND (seen by the st-network, passed through),
 * TRANS (transformed, x·exp(s) + t) and PASS (neither: passed through and not seen).
 * The masks of Kirichenko et al. 2020 (§6–7, App. I.1) and RealNVP (Dinh et al. 2017
 * §3.4), for coupling number k of a scale:
 *   checkerboard  COND where (y + x) % 2 == k % 2, TRANS elsewhere (local correlations)
 *   horizontal    k even: the top h/2 rows COND, the rest TRANS; k odd: the reverse
 *   cycle         four horizontal stripes, row y in stripe 4y/h; COND = stripe k % 4,
 *                 TRANS = stripe (k+1) % 4, the other two PASS: a stripe's content
 *                 reaches the same stripe again only after three more couplings
 *   channel       k even: channels [0, c/2) COND, the rest TRANS; k odd: the reverse
 * Invariant: every mask has at least one COND and one TRANS position when
 * mask_valid holds for its shape. */
#ifndef LDE_MASK_H
#define LDE_MASK_H

typedef enum {
    FLOW_MASK_CHECKERBOARD, /* 0: the default, RealNVP's */
    FLOW_MASK_HORIZONTAL,
    FLOW_MASK_CYCLE,
    FLOW_MASK_CHANNEL
} FlowMask;

typedef enum { MASK_PASS, MASK_COND, MASK_TRANS } MaskRole;

/* "checkerboard" | "horizontal" | "cycle" | "channel" <-> FlowMask; parse returns 0 on
 * success, -1 if unknown. */
const char *flow_mask_name(FlowMask mask);
int flow_mask_parse(const char *name, FlowMask *mask);

/* 1 when the mask can split an h×w×c image: checkerboard needs h·w >= 2, horizontal
 * h >= 2, cycle h >= 4 (four non-empty stripes), channel c >= 2; 0 otherwise. */
int mask_valid(FlowMask mask, int h, int w, int c);

/* The role of position (y, x, ch) of an h×w×c image in coupling number k. */
MaskRole mask_role(FlowMask mask, int k, int h, int w, int c, int y, int x, int ch);

#endif
