/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Arbitrary bytes as the hold file. Beyond sanitizer reports it checks: only the documented
 * errors; a parsed hold is consistent (a release has no deadline and no reason, a reason is
 * valid); and it formats to a text that parses back to the same hold. */

#include <string.h>

#include "fuzz.h"
#include "hold.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(hold_done) Hold h = {}, back = {};
        _cleanup_free_ char *text = NULL;
        int r;

        if (size > HOLD_FILE_SIZE_MAX + 16)
                return -1;
        r = hold_parse((const char *) data, size, &h);
        require(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0)
                return 0;

        if (!h.held)
                require(h.until == 0 && !h.reason);
        if (h.reason)
                require(*h.reason && hold_reason_valid(h.reason));

        require(hold_format(&h, &text) == 0);
        require(hold_parse(text, strlen(text), &back) == 0);
        require(back.held == h.held && back.since == h.since && back.until == h.until);
        require((back.reason == NULL) == (h.reason == NULL));
        if (h.reason)
                require(streq(back.reason, h.reason));
        return 0;
}
