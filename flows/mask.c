/* mask.c — see mask.h. */
#include "flows/mask.h"

#include <string.h>

const char *flow_mask_name(FlowMask mask) {
    switch (mask) {
    case FLOW_MASK_CHECKERBOARD:
        return "checkerboard";
    case FLOW_MASK_HORIZONTAL:
        return "horizontal";
    case FLOW_MASK_CYCLE:
        return "cycle";
    case FLOW_MASK_CHANNEL:
        return "channel";
    }
    return "?";
}

int flow_mask_parse(const char *name, FlowMask *mask) {
    static const FlowMask all[] = {FLOW_MASK_CHECKERBOARD, FLOW_MASK_HORIZONTAL, FLOW_MASK_CYCLE,
                                   FLOW_MASK_CHANNEL};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, flow_mask_name(all[i])) == 0) {
            *mask = all[i];
            return 0;
        }
    return -1;
}

int mask_valid(FlowMask mask, int h, int w, int c) {
    if (h < 1 || w < 1 || c < 1) return 0;
    switch (mask) {
    case FLOW_MASK_CHECKERBOARD:
        return (long)h * w >= 2;
    case FLOW_MASK_HORIZONTAL:
        return h >= 2;
    case FLOW_MASK_CYCLE:
        return h >= 4;
    case FLOW_MASK_CHANNEL:
        return c >= 2;
    }
    return 0;
}

MaskRole mask_role(FlowMask mask, int k, int h, int w, int c, int y, int x, int ch) {
    (void)w;
    int first; /* 1 when the position is in the part parity 0 conditions on */
    switch (mask) {
    case FLOW_MASK_CHECKERBOARD:
        first = (y + x) % 2 == 0;
        break;
    case FLOW_MASK_HORIZONTAL:
        first = y < h / 2;
        break;
    case FLOW_MASK_CHANNEL:
        first = ch < c / 2;
        break;
    case FLOW_MASK_CYCLE: {
        int stripe = (int)(4L * y / h);
        return stripe == k % 4 ? MASK_COND : stripe == (k + 1) % 4 ? MASK_TRANS : MASK_PASS;
    }
    default:
        return MASK_PASS;
    }
    return first == (k % 2 == 0) ? MASK_COND : MASK_TRANS;
}
