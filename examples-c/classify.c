/*
 * classify.c — runs a single-input float32 model and prints the top 5 of its first output.
 *
 * Usage: classify MODEL.onnx [INPUT.f32] [--threads N]
 *
 * INPUT.f32 is raw little-endian float32 data in the input's layout (e.g. NCHW), exactly as many values
 * as the input's shape holds; symbolic dims (a batch) are taken as 1. Without it the input is filled
 * with fixed pseudo-random values in [0, 1), so runs are repeatable.
 *
 *   $ ./classify tiny_cnn.onnx
 *   input:  input float32[1, 3, 32, 32] (generated)
 *   output: logits float32[1, 10]
 *   top 5:  #1 index 7  3.1416 ...
 */
#include <secateur.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP 5

static int fail(const char *what) {
    fprintf(stderr, "classify: %s: %s\n", what, sct_last_error());
    return 1;
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *input_path = NULL;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!model_path) model_path = argv[i];
        else if (!input_path) input_path = argv[i];
        else model_path = NULL, i = argc; /* too many arguments */
    }
    if (!model_path) {
        fprintf(stderr, "usage: %s MODEL.onnx [INPUT.f32] [--threads N]\n", argv[0]);
        return 2;
    }

    sct_model *model = NULL;
    sct_options *options = NULL;
    sct_session *session = NULL;
    if (sct_model_load_file(model_path, &model) != SCT_OK) return fail("load");
    if (sct_options_create(&options) != SCT_OK || sct_options_set_threads(options, threads) != SCT_OK) return fail("options");
    sct_status status = sct_session_create(model, options, &session);
    sct_options_release(options);
    sct_model_release(model); /* the session keeps what it needs */
    if (status != SCT_OK) return fail("session");

    /* The input: one float32 tensor; symbolic dims become 1. */
    size_t count = 0;
    sct_value_info in, out;
    if (sct_session_input_count(session, &count) != SCT_OK) return fail("inputs");
    if (count != 1) {
        fprintf(stderr, "classify: the model has %zu inputs; this example feeds exactly one\n", count);
        return 1;
    }
    if (sct_session_input_info(session, 0, &in) != SCT_OK || sct_session_output_info(session, 0, &out) != SCT_OK)
        return fail("info");
    if (in.type != SCT_TYPE_FLOAT || in.rank < 0 || in.rank > 8) {
        fprintf(stderr, "classify: input '%s' is %s of rank %d; this example feeds float32 of a known rank\n",
                in.name, sct_type_name(in.type), (int)in.rank);
        return 1;
    }
    int64_t shape[8];
    size_t elements = 1;
    for (int32_t i = 0; i < in.rank; i++) {
        shape[i] = in.dims[i] >= 0 ? in.dims[i] : 1;
        elements *= (size_t)shape[i];
    }
    float *data = malloc(elements * sizeof(float) + 1);
    if (!data) return 1;
    if (input_path) {
        FILE *f = fopen(input_path, "rb");
        if (!f) {
            perror(input_path);
            return 1;
        }
        size_t got = fread(data, sizeof(float), elements, f);
        int extra = fgetc(f) != EOF;
        fclose(f);
        if (got != elements || extra) {
            fprintf(stderr, "classify: %s must hold exactly %zu float32 values for input '%s'\n", input_path, elements,
                    in.name);
            return 1;
        }
    } else {
        uint32_t state = 12345; /* a fixed LCG: repeatable inputs in [0, 1) */
        for (size_t i = 0; i < elements; i++) {
            state = state * 1664525u + 1013904223u;
            data[i] = (float)(state >> 8) / 16777216.0f;
        }
    }
    printf("input:  %s %s[", in.name, sct_type_name(in.type));
    for (int32_t i = 0; i < in.rank; i++) printf(i ? ", %lld" : "%lld", (long long)shape[i]);
    printf("] (%s)\n", input_path ? input_path : "generated");

    /* Run: the input borrows `data`; the first output comes back as a new tensor. */
    sct_tensor *input = NULL, *output = NULL;
    if (sct_tensor_wrap(SCT_TYPE_FLOAT, shape, (size_t)in.rank, data, elements * sizeof(float), &input) != SCT_OK)
        return fail("input");
    const char *input_names[1] = {in.name}, *output_names[1] = {out.name};
    const sct_tensor *inputs[1] = {input};
    if (sct_session_run(session, input_names, inputs, 1, output_names, 1, &output) != SCT_OK) return fail("run");

    sct_type type;
    const int64_t *dims;
    size_t rank, n;
    void *result;
    sct_tensor_type(output, &type);
    sct_tensor_shape(output, &dims, &rank);
    sct_tensor_element_count(output, &n);
    sct_tensor_data(output, &result);
    printf("output: %s %s[", out.name, sct_type_name(type));
    for (size_t i = 0; i < rank; i++) printf(i ? ", %lld" : "%lld", (long long)dims[i]);
    printf("]\n");
    if (type != SCT_TYPE_FLOAT) {
        fprintf(stderr, "classify: the output is %s; top-5 needs float32\n", sct_type_name(type));
        return 1;
    }

    /* Top 5 of all output values, largest first. */
    const float *values = result;
    size_t best[TOP];
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        size_t pos = found < TOP ? found++ : TOP;
        while (pos > 0 && values[i] > values[best[pos - 1]]) {
            if (pos < TOP) best[pos] = best[pos - 1];
            pos--;
        }
        if (pos < TOP) best[pos] = i;
    }
    for (size_t k = 0; k < found; k++) printf("top %zu:  index %-6zu %g\n", k + 1, best[k], values[best[k]]);

    sct_tensor_release(output);
    sct_tensor_release(input);
    sct_session_release(session);
    free(data);
    return 0;
}
