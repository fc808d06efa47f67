/*
 * inspect.c — prints a model's inputs and outputs, then whether Secateur can run it.
 *
 * Usage: inspect MODEL.onnx
 *
 *   $ ./inspect tiny_cnn.onnx
 *   secateur 0.1.0 (ABI 1)
 *   input  0: input   float32[batch, 3, 32, 32]
 *   output 0: logits  float32[batch, 10]
 *   session: ok
 */
#include <secateur.h>

#include <stdio.h>

static void print_value(const char *kind, size_t index, const sct_value_info *info) {
    printf("%-6s %zu: %-12s %s", kind, index, info->name, sct_type_name(info->type));
    if (info->rank < 0) {
        printf("[?]\n"); /* rank unknown */
        return;
    }
    printf("[");
    for (int32_t i = 0; i < info->rank; i++) {
        if (i > 0) printf(", ");
        if (info->dims[i] >= 0) printf("%lld", (long long)info->dims[i]);
        else if (info->dim_names[i] != NULL) printf("%s", info->dim_names[i]);
        else printf("?");
    }
    printf("]\n");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
        return 2;
    }
    printf("secateur %s (ABI %u)\n", sct_version(), (unsigned)sct_abi_version());

    sct_model *model = NULL;
    if (sct_model_load_file(argv[1], &model) != SCT_OK) {
        fprintf(stderr, "%s\n", sct_last_error());
        return 1;
    }
    size_t inputs = 0, outputs = 0;
    sct_value_info info;
    sct_model_input_count(model, &inputs);
    sct_model_output_count(model, &outputs);
    for (size_t i = 0; i < inputs; i++) {
        if (sct_model_input_info(model, i, &info) == SCT_OK) print_value("input", i, &info);
    }
    for (size_t i = 0; i < outputs; i++) {
        if (sct_model_output_info(model, i, &info) == SCT_OK) print_value("output", i, &info);
    }

    sct_session *session = NULL;
    sct_status status = sct_session_create(model, NULL, &session);
    if (status == SCT_OK) printf("session: ok\n");
    else printf("session: cannot run (%s): %s\n", sct_status_name(status), sct_last_error());
    sct_session_release(session);
    sct_model_release(model);
    return status == SCT_OK ? 0 : 1;
}
