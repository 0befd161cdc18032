/* The bias gradient by work-groups (cr_conv_tiles.db_local > 1, GPUs; host: backward_bias in
 * host/nn/conv_fast.c). A file of its own so that each DB_LOCAL builds this kernel alone, not
 * conv_gemm.cl's tiled convolutions. */

/* Group (g, co) of DB_LOCAL work-items sums the pixels g*DB_LOCAL + lane + j*groups*DB_LOCAL
 * of channel co in every image (consecutive work-items read consecutive pixels), folds its sums
 * as a tree in local memory, and writes part[g * cout + co]; conv_reduce_add (conv_gemm.cl)
 * adds the groups into db. global = (groups * DB_LOCAL, cout), local = (DB_LOCAL, 1).
 * DB_LOCAL is a power of two. */
#ifndef DB_LOCAL
#define DB_LOCAL 256
#endif
__kernel void conv_db_wg(__global float *part, __global const float *dy, const int dy_off, const int n,
                         const int cout, const int pix)
{
    __local float sum[DB_LOCAL];
    int lane = get_local_id(0), g = get_group_id(0), step = get_num_groups(0) * DB_LOCAL, co = get_global_id(1);
    dy += dy_off;
    float s = 0.0f;
    for (int b = 0; b < n; b++) {
        __global const float *p = dy + ((size_t)b * cout + co) * pix;
        for (int i = g * DB_LOCAL + lane; i < pix; i += step) s += p[i];
    }
    sum[lane] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = DB_LOCAL / 2; h > 0; h >>= 1) {
        if (lane < h) sum[lane] += sum[lane + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane == 0) part[(size_t)g * cout + co] = sum[0];
}
