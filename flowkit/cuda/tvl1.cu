// Fused TV-L1 kernels for flowkit.tvl1_fused (NumPy twins: flowkit.tvl1 and flowkit.imgops).
//
// Images are (N, H, W) float32 planes. The solver state S is (2, 6, N, H, W): two buffers of
// [u1, u2, p11, p12, p21, p22]; pair b's current values are in buffer cur[b], and a kernel that
// updates pair b writes the other buffer, so neighbouring blocks never see a half-updated state.
// Blocks are 2D tiles of one pair: blockIdx.z indexes `pairs`, the pairs still iterating.

#define TSF_FLT_EPSILON 1.1920929e-07f
#define TSF_MAP_LIMIT 1048576.0f
// Squared updates are summed in fixed point (units of 2^-32 px^2): integer atomics add in any
// order to the same total, so a pair stops at the same iteration on every run.
#define TSF_ERR_SCALE 4294967296.0f
#define TSF_ERR_MAX 1.0e9f

#ifndef TSF_EMULATION
#define TSF_BLOCK_LEADER (threadIdx.x == 0 && threadIdx.y == 0)  // the thread that holds a block's sum

// Sum of v over the block, added to *dst in fixed point with one atomic per block (blocks of 32k
// threads; the tree order within a block is fixed).
__device__ __forceinline__ void tsf_block_sum(unsigned long long* dst, float v) {
    __shared__ float partial[32];
    const unsigned tid = threadIdx.x + blockDim.x * threadIdx.y;
    const unsigned warps = (blockDim.x * blockDim.y + 31) / 32;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if ((tid & 31) == 0) partial[tid >> 5] = v;
    __syncthreads();
    if (tid < 32) {
        v = tid < warps ? partial[tid] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
        if (tid == 0 && v != 0.0f) atomicAdd(dst, (unsigned long long)(fminf(v, TSF_ERR_MAX) * TSF_ERR_SCALE));
    }
}
#endif

// OpenCV's bicubic convolution weights (A = -0.75) for a fractional offset t.
__device__ __forceinline__ void tsf_cubic(float t, float* c) {
    const float a = -0.75f, one = 1.0f;
    const float t1 = t + one, s = one - t;
    c[0] = ((a * t1 - 5.0f * a) * t1 + 8.0f * a) * t1 - 4.0f * a;
    c[1] = ((a + 2.0f) * t - (a + 3.0f)) * t * t + one;
    c[2] = ((a + 2.0f) * s - (a + 3.0f)) * s * s + one;
    c[3] = one - c[0] - c[1] - c[2];
}

// One warping: samples I1 and its gradient at x + u (bicubic, zero outside, as cv2.remap) and
// stores the data term's constants: ix, iy (warped gradient) and rho_c = I1w - grad.u0 - I0.
extern "C" __global__ void tsf_warp(const float* S, const int* cur, const float* i0, const float* i1,
                                    const float* i1x, const float* i1y, float* ix, float* iy,
                                    float* rc, int n, int h, int w) {
    const int b = blockIdx.z;
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    const size_t plane = (size_t)h * w, nhw = plane * n;
    const float* u = S + (size_t)cur[b] * 6 * nhw + b * plane;
    const size_t i = b * plane + (size_t)y * w + x;
    const float u1 = u[(size_t)y * w + x], u2 = u[nhw + (size_t)y * w + x];
    const float mx = fminf(fmaxf((float)x + u1, -TSF_MAP_LIMIT), TSF_MAP_LIMIT);
    const float my = fminf(fmaxf((float)y + u2, -TSF_MAP_LIMIT), TSF_MAP_LIMIT);
    const float fx = floorf(mx), fy = floorf(my);
    float wx[4], wy[4];
    tsf_cubic(mx - fx, wx);
    tsf_cubic(my - fy, wy);
    const int x0 = (int)fx - 1, y0 = (int)fy - 1;
    int cols[4];
    float cw[4];
    for (int j = 0; j < 4; ++j) {
        const int c = x0 + j;
        cols[j] = c < 0 ? 0 : (c > w - 1 ? w - 1 : c);
        cw[j] = (c >= 0 && c < w) ? wx[j] : 0.0f;
    }
    const float* src[3] = {i1 + b * plane, i1x + b * plane, i1y + b * plane};
    float sum[3] = {0.0f, 0.0f, 0.0f};
    for (int r = 0; r < 4; ++r) {
        const int yy = y0 + r;
        const float rw = (yy >= 0 && yy < h) ? wy[r] : 0.0f;
        const size_t row = (size_t)(yy < 0 ? 0 : (yy > h - 1 ? h - 1 : yy)) * w;
        for (int k = 0; k < 3; ++k) {
            float acc = src[k][row + cols[0]] * cw[0];
            for (int j = 1; j < 4; ++j) acc += src[k][row + cols[j]] * cw[j];
            sum[k] += rw * acc;
        }
    }
    ix[i] = sum[1];
    iy[i] = sum[2];
    rc[i] = sum[0] - sum[1] * u1 - sum[2] * u2 - i0[i];
}

// u = v + theta div p at (x, y), with v the thresholding step of the data term.
__device__ __forceinline__ void tsf_primal(const float* in, size_t nhw, const float* ix, const float* iy,
                                          const float* rc, int x, int y, int w, float lt, float theta,
                                          float* u1_out, float* u2_out) {
    const size_t i = (size_t)y * w + x;
    const float gx = ix[i], gy = iy[i];
    const float grad = gx * gx + gy * gy;
    const float u1 = in[i], u2 = in[nhw + i];
    const float rho = rc[i] + (gx * u1 + gy * u2);
    const float ltg = lt * grad;
    const float step = rho < -ltg ? lt : (rho > ltg ? -lt : (grad > TSF_FLT_EPSILON ? -rho / grad : 0.0f));
    const float v1 = u1 + step * gx, v2 = u2 + step * gy;
    const float* p11 = in + 2 * nhw;
    const float* p12 = in + 3 * nhw;
    const float* p21 = in + 4 * nhw;
    const float* p22 = in + 5 * nhw;
    const float div1 = (p11[i] - (x > 0 ? p11[i - 1] : 0.0f)) + (p12[i] - (y > 0 ? p12[i - w] : 0.0f));
    const float div2 = (p21[i] - (x > 0 ? p21[i - 1] : 0.0f)) + (p22[i] - (y > 0 ? p22[i - w] : 0.0f));
    *u1_out = v1 + theta * div1;
    *u2_out = v2 + theta * div2;
}

// The last block of pair b to finish a kernel moves the pair to the other buffer and applies its
// stopping test: a pair whose squared update err[b] is at most `stop` leaves the iteration.
__device__ __forceinline__ void tsf_finish_pair(int b, int* cur, int* active, unsigned long long* err,
                                               unsigned* arrived, double stop) {
    if (!TSF_BLOCK_LEADER) return;
    __threadfence();
    if (atomicAdd(arrived + b, 1u) != gridDim.x * gridDim.y - 1) return;
    arrived[b] = 0;
    cur[b] = 1 - cur[b];
    if ((double)atomicAdd(err + b, 0ull) / (double)TSF_ERR_SCALE <= stop) active[b] = 0;
    err[b] = 0ull;
}

// One primal-dual iteration of the pairs in `pairs` that are still active: u and p from buffer
// cur[b] to the other one; the squared update of u is summed into err[b] for the stopping test.
extern "C" __global__ void tsf_step(float* S, int* cur, int* active, const int* pairs, const float* ix,
                                    const float* iy, const float* rc, unsigned long long* err, unsigned* arrived,
                                    int n, int h, int w, float lt, float theta, float taut, double stop) {
    const int b = pairs[blockIdx.z];
    if (!active[b]) return;
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const size_t plane = (size_t)h * w, nhw = plane * n;
    const float* in = S + (size_t)cur[b] * 6 * nhw + b * plane;
    float* out = S + (size_t)(1 - cur[b]) * 6 * nhw + b * plane;
    const float* bx = ix + b * plane;
    const float* by = iy + b * plane;
    const float* br = rc + b * plane;
    float d2 = 0.0f;
    if (x < w && y < h) {
        const size_t i = (size_t)y * w + x;
        float a1, a2, r1 = 0.0f, r2 = 0.0f, d1 = 0.0f, dd2 = 0.0f;
        tsf_primal(in, nhw, bx, by, br, x, y, w, lt, theta, &a1, &a2);
        if (x + 1 < w) tsf_primal(in, nhw, bx, by, br, x + 1, y, w, lt, theta, &r1, &r2);
        if (y + 1 < h) tsf_primal(in, nhw, bx, by, br, x, y + 1, w, lt, theta, &d1, &dd2);
        const float e1 = a1 - in[i], e2 = a2 - in[nhw + i];
        d2 = e1 * e1 + e2 * e2;
        const float g1x = x + 1 < w ? r1 - a1 : 0.0f, g1y = y + 1 < h ? d1 - a1 : 0.0f;
        const float g2x = x + 1 < w ? r2 - a2 : 0.0f, g2y = y + 1 < h ? dd2 - a2 : 0.0f;
        const float n1 = 1.0f + taut * hypotf(g1x, g1y);
        const float n2 = 1.0f + taut * hypotf(g2x, g2y);
        out[i] = a1;
        out[nhw + i] = a2;
        out[2 * nhw + i] = (in[2 * nhw + i] + taut * g1x) / n1;
        out[3 * nhw + i] = (in[3 * nhw + i] + taut * g1y) / n1;
        out[4 * nhw + i] = (in[4 * nhw + i] + taut * g2x) / n2;
        out[5 * nhw + i] = (in[5 * nhw + i] + taut * g2y) / n2;
    }
    tsf_block_sum(err + b, d2);
    tsf_finish_pair(b, cur, active, err, arrived, stop);
}

// Medians of 9 and 25 values (pruned sorting networks, generated by flowkit.sortnet).
__device__ __forceinline__ float tsf_median9(float* v) {
/*MEDIAN9*/
}

__device__ __forceinline__ float tsf_median25(float* v) {
/*MEDIAN25*/
}

// K x K median of one plane at (x, y) with a replicated border (cv2.medianBlur).
template <int K>
__device__ __forceinline__ float tsf_median_at(const float* u, int x, int y, int h, int w) {
    float v[K * K];
#pragma unroll
    for (int dy = 0; dy < K; ++dy) {
        int yy = y + dy - K / 2;
        yy = yy < 0 ? 0 : (yy > h - 1 ? h - 1 : yy);
#pragma unroll
        for (int dx = 0; dx < K; ++dx) {
            int xx = x + dx - K / 2;
            xx = xx < 0 ? 0 : (xx > w - 1 ? w - 1 : xx);
            v[dy * K + dx] = u[(size_t)yy * w + xx];
        }
    }
    return K == 3 ? tsf_median9(v) : tsf_median25(v);
}

// size x size median (3 or 5) of u1 and u2, from buffer cur[b] to the other one; p is carried
// over unchanged.
extern "C" __global__ void tsf_median(float* S, int* cur, int* active, const int* pairs, unsigned long long* err,
                                      unsigned* arrived, int n, int h, int w, int size) {
    const int b = pairs[blockIdx.z];
    if (!active[b]) return;
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const size_t plane = (size_t)h * w, nhw = plane * n;
    const float* in = S + (size_t)cur[b] * 6 * nhw + b * plane;
    float* out = S + (size_t)(1 - cur[b]) * 6 * nhw + b * plane;
    if (x < w && y < h) {
        const size_t i = (size_t)y * w + x;
        for (int c = 0; c < 2; ++c) {
            out[c * nhw + i] = size == 3 ? tsf_median_at<3>(in + c * nhw, x, y, h, w)
                                         : tsf_median_at<5>(in + c * nhw, x, y, h, w);
        }
        for (int c = 2; c < 6; ++c) out[c * nhw + i] = in[c * nhw + i];
    }
    tsf_finish_pair(b, cur, active, err, arrived, -1.0);
}
