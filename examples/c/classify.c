/*
 * Classify a synthetic input with the rpr-infer C API.
 *
 *   cc classify.c -I rpr-infer/include target/release/librpr_infer.a -lpthread -ldl -lm -o classify
 *   ./classify model.rpr [threads]
 *
 * The input is a fixed pattern, so the printed logits can be compared with the Rust API:
 * value i of the NCHW batch is ((i * 37) % 101) / 50.0 - 1.0. Prints one line per class,
 * "class <index> <logit>", then "top1 <index>".
 */
#include <stdio.h>
#include <stdlib.h>

#include "rpr_infer.h"

static int fail(const char *function, RprStatus status) {
    fprintf(stderr, "%s failed (status %d): %s\n", function, (int)status, rpr_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.rpr [THREADS]\n", argv[0]);
        return 2;
    }

    RprEngine *engine = NULL;
    RprStatus status = rpr_engine_load(argv[1], &engine);
    if (status != RPR_STATUS_OK) {
        return fail("rpr_engine_load", status);
    }

    size_t shape[3];
    status = rpr_engine_input_shape(engine, shape);
    if (status != RPR_STATUS_OK) {
        rpr_engine_free(engine);
        return fail("rpr_engine_input_shape", status);
    }
    size_t input_len = shape[0] * shape[1] * shape[2];
    size_t classes = rpr_engine_output_len(engine);

    RprSessionOptions options = rpr_session_options_default();
    if (argc > 2) {
        options.threads = (size_t)strtoul(argv[2], NULL, 10);
    }
    RprSession *session = NULL;
    status = rpr_session_new(engine, &options, &session);
    /* The session keeps the model alive, so the engine can go now. */
    rpr_engine_free(engine);
    if (status != RPR_STATUS_OK) {
        return fail("rpr_session_new", status);
    }

    float *input = malloc(input_len * sizeof(float));
    float *logits = malloc(classes * sizeof(float));
    if (input == NULL || logits == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < input_len; i++) {
        input[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    }

    status = rpr_session_run(session, input, input_len, 1, logits, classes);
    if (status != RPR_STATUS_OK) {
        return fail("rpr_session_run", status);
    }
    size_t best = 0;
    for (size_t c = 0; c < classes; c++) {
        printf("class %zu %.6f\n", c, logits[c]);
        if (logits[c] > logits[best]) {
            best = c;
        }
    }
    printf("top1 %zu\n", best);

    /* Errors are reported, not crashed on: a wrong input length is rejected. */
    status = rpr_session_run(session, input, input_len + 1, 1, logits, classes);
    if (status != RPR_STATUS_INVALID_ARGUMENT) {
        fprintf(stderr, "a wrong input length was not rejected\n");
        return 1;
    }

    free(input);
    free(logits);
    rpr_session_free(session);
    return 0;
}
