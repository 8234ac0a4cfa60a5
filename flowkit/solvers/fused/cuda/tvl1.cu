// Fused TV-L1 kernels for flowkit.solvers.fused.tvl1 (NumPy twins: flowkit.solvers.tvl1 and
// flowkit.solvers.imgops).
//
// Images are (N, H, W) float32 planes. The solver state S is (2, 6, N, H, W): two buffers of
// [u1, u2, p11, p12, p21, p22]; pair b's current values are in buffer cur[b], and a kernel that
// updates pair b writes the other buffer, so neighbouring blocks never see a half-updated state.
// Blocks are 2D tiles of one pair: blockIdx.z indexes `pairs`, the pairs still iterating.
// TSF_TILE_W, TSF_TILE_H, TSF_THREADS, TSF_CHUNK_MAX and TSF_STEPS_MIN_BLOCKS are defined by
// flowkit.solvers.fused.kernels.

#define TSF_FLT_EPSILON 1.1920929e-07f
#define TSF_MAP_LIMIT 1048576.0f
// Squared updates are summed in fixed point (units of 2^-32 px^2): integer atomics add in any
// order to the same total, so a pair stops at the same iteration on every run.
#define TSF_ERR_SCALE 4294967296.0f
#define TSF_ERR_MAX 1.0e9f

#define TSF_TILE (TSF_TILE_W * TSF_TILE_H)
#define TSF_TID (threadIdx.x + blockDim.x * threadIdx.y)
// a thread of tsf_steps holds one column of its tile, every TSF_ROWS-th row: TSF_PER_THREAD pixels
#define TSF_ROWS (TSF_THREADS / TSF_TILE_W)
#define TSF_PER_THREAD (TSF_TILE_H / TSF_ROWS)
static_assert(TSF_THREADS % TSF_TILE_W == 0 && TSF_TILE_H % TSF_ROWS == 0, "threads must tile a tile's rows");

#ifndef TSF_EMULATION
// Per-thread arrays that outlive a phase: `float a[TSF_OWN_COPIES][n]`, indexed a[TSF_OWN][m] with m
// known at compile time, are registers on the GPU; the CPU build keeps one copy per thread.
#define TSF_OWN_COPIES 1
#define TSF_OWN 0
#define TSF_BLOCK_LEADER (threadIdx.x == 0 && threadIdx.y == 0)  // the thread that holds a block's sum
// Marks the code between two __syncthreads() of a block-level kernel, which every thread runs (the
// CPU build runs it thread after thread); values that outlive it are kept in shared memory.
#define TSF_FOR_EACH_THREAD

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

// Pair b's current state (buffer cur[b]) and the other buffer, which a kernel updating b writes.
struct tsf_pair_state {
    const float* in;
    float* out;
    size_t nhw;  // distance between two parts of the state [u1, u2, p11, p12, p21, p22]
};

__device__ __forceinline__ tsf_pair_state tsf_state_of(float* S, const int* cur, int b, int n, int h, int w) {
    const size_t plane = (size_t)h * w, nhw = plane * n;
    return {S + (size_t)cur[b] * 6 * nhw + b * plane, S + (size_t)(1 - cur[b]) * 6 * nhw + b * plane, nhw};
}

// The new flow (u1, u2) + step * grad I1w + theta div p at one pixel, from the data term's constants
// there and the divergence of p: the thresholding step v, then the primal update.
__device__ __forceinline__ void tsf_primal_at(float u1, float u2, float gx, float gy, float rc, float div1,
                                             float div2, float lt, float theta, float* a1, float* a2) {
    const float grad = gx * gx + gy * gy;
    const float rho = rc + (gx * u1 + gy * u2);
    const float ltg = lt * grad;
    const float step = rho < -ltg ? lt : (rho > ltg ? -lt : (grad > TSF_FLT_EPSILON ? -rho / grad : 0.0f));
    *a1 = (u1 + step * gx) + theta * div1;
    *a2 = (u2 + step * gy) + theta * div2;
}

// The dual update of (pa, pb) from the forward gradient (gx, gy) of the new flow component. The
// norm is sqrt(gx^2 + gy^2) rather than hypotf (several times the instructions, and a last bit that
// differs from NumPy's), divided once; the rounding matches the twin's.
__device__ __forceinline__ void tsf_dual(float gx, float gy, float taut, float* pa, float* pb) {
    const float inv = 1.0f / (1.0f + taut * sqrtf(gx * gx + gy * gy));
    *pa = (*pa + taut * gx) * inv;
    *pb = (*pb + taut * gy) * inv;
}

// u = v + theta div p at (x, y) of the state in global memory.
__device__ __forceinline__ void tsf_primal(const float* in, size_t nhw, const float* ix, const float* iy,
                                          const float* rc, int x, int y, int w, float lt, float theta,
                                          float* u1_out, float* u2_out) {
    const size_t i = (size_t)y * w + x;
    const float* p11 = in + 2 * nhw;
    const float* p12 = in + 3 * nhw;
    const float* p21 = in + 4 * nhw;
    const float* p22 = in + 5 * nhw;
    const float div1 = (p11[i] - (x > 0 ? p11[i - 1] : 0.0f)) + (p12[i] - (y > 0 ? p12[i - w] : 0.0f));
    const float div2 = (p21[i] - (x > 0 ? p21[i - 1] : 0.0f)) + (p22[i] - (y > 0 ? p22[i - w] : 0.0f));
    tsf_primal_at(in[i], in[nhw + i], ix[i], iy[i], rc[i], div1, div2, lt, theta, u1_out, u2_out);
}

// Whether this block is the last of pair b's blocks to finish the kernel; true in its leader only.
__device__ __forceinline__ bool tsf_last_block(int b, unsigned* arrived) {
    if (!TSF_BLOCK_LEADER) return false;
    __threadfence();
    if (atomicAdd(arrived + b, 1u) != gridDim.x * gridDim.y - 1) return false;
    arrived[b] = 0;
    return true;
}

// The last block of pair b to finish a kernel moves the pair to the other buffer and applies its
// stopping test: a pair whose squared update err[b] is at most `stop` leaves the iteration.
__device__ __forceinline__ void tsf_finish_pair(int b, int* cur, int* active, unsigned long long* err,
                                               unsigned* arrived, double stop) {
    if (!tsf_last_block(b, arrived)) return;
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
    const tsf_pair_state s = tsf_state_of(S, cur, b, n, h, w);
    const size_t nhw = s.nhw, plane = (size_t)h * w;
    const float* bx = ix + b * plane;
    const float* by = iy + b * plane;
    const float* br = rc + b * plane;
    float d2 = 0.0f;
    if (x < w && y < h) {
        const size_t i = (size_t)y * w + x;
        float a1, a2, r1 = 0.0f, r2 = 0.0f, d1 = 0.0f, dd2 = 0.0f;
        tsf_primal(s.in, nhw, bx, by, br, x, y, w, lt, theta, &a1, &a2);
        if (x + 1 < w) tsf_primal(s.in, nhw, bx, by, br, x + 1, y, w, lt, theta, &r1, &r2);
        if (y + 1 < h) tsf_primal(s.in, nhw, bx, by, br, x, y + 1, w, lt, theta, &d1, &dd2);
        const float e1 = a1 - s.in[i], e2 = a2 - s.in[nhw + i];
        d2 = e1 * e1 + e2 * e2;
        float p[4] = {s.in[2 * nhw + i], s.in[3 * nhw + i], s.in[4 * nhw + i], s.in[5 * nhw + i]};
        tsf_dual(x + 1 < w ? r1 - a1 : 0.0f, y + 1 < h ? d1 - a1 : 0.0f, taut, p, p + 1);
        tsf_dual(x + 1 < w ? r2 - a2 : 0.0f, y + 1 < h ? dd2 - a2 : 0.0f, taut, p + 2, p + 3);
        s.out[i] = a1;
        s.out[nhw + i] = a2;
        for (int c = 0; c < 4; ++c) s.out[(2 + c) * nhw + i] = p[c];
    }
    tsf_block_sum(err + b, d2);
    tsf_finish_pair(b, cur, active, err, arrived, stop);
}

// The last block of pair b to finish a chunk of k iterations (tsf_steps) applies the stopping test
// to each iteration's squared update err[b][t]. A pair that stops at the chunk's last iteration
// moves to the other buffer; one that stops at iteration t < k stays in its buffer, which still
// holds the chunk's start, with redo[b] = t: a rerun of t iterations gives the exact state.
__device__ __forceinline__ void tsf_finish_chunk(int b, int k, int* cur, int* active, int* redo,
                                                unsigned long long* err, unsigned* arrived, double stop) {
    if (!tsf_last_block(b, arrived)) return;
    int stopped = 0;
    for (int t = 0; t < k; ++t) {
        unsigned long long* e = err + (size_t)b * TSF_CHUNK_MAX + t;
        if (!stopped && (double)atomicAdd(e, 0ull) / (double)TSF_ERR_SCALE <= stop) stopped = t + 1;
        *e = 0ull;
    }
    if (stopped) active[b] = 0;
    if (stopped && stopped < k) redo[b] = stopped;
    else cur[b] = 1 - cur[b];
}

// Up to k <= TSF_CHUNK_MAX primal-dual iterations in one launch, on tiles in shared memory. A block
// loads a TSF_TILE_W x TSF_TILE_H tile of its pair's state and iterates on it: each iteration's
// results are exact one px less far from the tile's edges, so after k iterations the inner tile,
// k px in from each edge, is exact and is written to the other buffer. Neighbouring blocks' tiles
// overlap by 2k px. Each iteration's squared update, summed over inner tiles, goes to err[b][t].
// With rerun = 0 the pairs in `pairs` that are active run k iterations and take their stopping
// test (tsf_finish_chunk); with rerun = 1 each pair b runs redo[b] iterations, if any, and moves to
// the other buffer. Blocks of TSF_THREADS threads.
extern "C" __global__ void __launch_bounds__(TSF_THREADS, TSF_STEPS_MIN_BLOCKS) tsf_steps(
        float* S, int* cur, int* active, const int* pairs, int* redo, const float* ix, const float* iy,
        const float* rc, unsigned long long* err, unsigned* arrived, int n, int h, int w, float lt,
        float theta, float taut, double stop, int k, int rerun) {
    __shared__ float tile[6][TSF_TILE];  // u1, u2, p11, p12, p21, p22, updated in place
    __shared__ float update[TSF_THREADS];  // each thread's squared update of the iteration
    const int b = pairs[blockIdx.z];
    const int count = rerun ? redo[b] : (active[b] ? k : 0);
    if (count == 0) return;
    const tsf_pair_state s = tsf_state_of(S, cur, b, n, h, w);
    const size_t plane = (size_t)h * w;
    const float* bx = ix + b * plane;
    const float* by = iy + b * plane;
    const float* br = rc + b * plane;
    const int x0 = blockIdx.x * (TSF_TILE_W - 2 * k) - k, y0 = blockIdx.y * (TSF_TILE_H - 2 * k) - k;
    // the data term's constants at the thread's pixels, read from global memory once per launch
    float cx[TSF_OWN_COPIES][TSF_PER_THREAD], cy[TSF_OWN_COPIES][TSF_PER_THREAD];
    float cr[TSF_OWN_COPIES][TSF_PER_THREAD];
    TSF_FOR_EACH_THREAD {
        const int lx = TSF_TID % TSF_TILE_W, x = x0 + lx;
#pragma unroll
        for (int m = 0; m < TSF_PER_THREAD; ++m) {
            const int ly = TSF_TID / TSF_TILE_W + m * TSF_ROWS, y = y0 + ly, j = ly * TSF_TILE_W + lx;
            const bool inside = x >= 0 && x < w && y >= 0 && y < h;
            const size_t i = inside ? (size_t)y * w + x : 0;
            for (int c = 0; c < 6; ++c) tile[c][j] = inside ? s.in[c * s.nhw + i] : 0.0f;
            cx[TSF_OWN][m] = inside ? bx[i] : 0.0f;
            cy[TSF_OWN][m] = inside ? by[i] : 0.0f;
            cr[TSF_OWN][m] = inside ? br[i] : 0.0f;
        }
    }
    __syncthreads();
    for (int t = 0; t < count; ++t) {
        TSF_FOR_EACH_THREAD {  // u from p (the tile's left and upper neighbours)
            const int lx = TSF_TID % TSF_TILE_W, x = x0 + lx;
            float d2 = 0.0f;
#pragma unroll
            for (int m = 0; m < TSF_PER_THREAD; ++m) {
                const int ly = TSF_TID / TSF_TILE_W + m * TSF_ROWS, y = y0 + ly, j = ly * TSF_TILE_W + lx;
                if (x < 0 || x >= w || y < 0 || y >= h) continue;
                const bool left = x > 0 && lx > 0, up = y > 0 && ly > 0;
                const float div1 = (tile[2][j] - (left ? tile[2][j - 1] : 0.0f))
                                 + (tile[3][j] - (up ? tile[3][j - TSF_TILE_W] : 0.0f));
                const float div2 = (tile[4][j] - (left ? tile[4][j - 1] : 0.0f))
                                 + (tile[5][j] - (up ? tile[5][j - TSF_TILE_W] : 0.0f));
                float a1, a2;
                tsf_primal_at(tile[0][j], tile[1][j], cx[TSF_OWN][m], cy[TSF_OWN][m], cr[TSF_OWN][m], div1,
                              div2, lt, theta, &a1, &a2);
                if (lx >= k && lx < TSF_TILE_W - k && ly >= k && ly < TSF_TILE_H - k) {
                    const float e1 = a1 - tile[0][j], e2 = a2 - tile[1][j];
                    d2 += e1 * e1 + e2 * e2;
                }
                tile[0][j] = a1;
                tile[1][j] = a2;
            }
            update[TSF_TID] = d2;
        }
        __syncthreads();
        if (!rerun) {
            TSF_FOR_EACH_THREAD { tsf_block_sum(err + (size_t)b * TSF_CHUNK_MAX + t, update[TSF_TID]); }
        }
        TSF_FOR_EACH_THREAD {  // p from u (the tile's right and lower neighbours)
            const int lx = TSF_TID % TSF_TILE_W, x = x0 + lx;
#pragma unroll
            for (int m = 0; m < TSF_PER_THREAD; ++m) {
                const int ly = TSF_TID / TSF_TILE_W + m * TSF_ROWS, y = y0 + ly, j = ly * TSF_TILE_W + lx;
                if (x < 0 || x >= w || y < 0 || y >= h) continue;
                const bool right = x + 1 < w && lx + 1 < TSF_TILE_W, down = y + 1 < h && ly + 1 < TSF_TILE_H;
                tsf_dual(right ? tile[0][j + 1] - tile[0][j] : 0.0f,
                         down ? tile[0][j + TSF_TILE_W] - tile[0][j] : 0.0f, taut, &tile[2][j], &tile[3][j]);
                tsf_dual(right ? tile[1][j + 1] - tile[1][j] : 0.0f,
                         down ? tile[1][j + TSF_TILE_W] - tile[1][j] : 0.0f, taut, &tile[4][j], &tile[5][j]);
            }
        }
        __syncthreads();
    }
    TSF_FOR_EACH_THREAD {
        for (int j = TSF_TID; j < TSF_TILE; j += TSF_THREADS) {
            const int lx = j % TSF_TILE_W, ly = j / TSF_TILE_W, x = x0 + lx, y = y0 + ly;
            if (lx < k || lx >= TSF_TILE_W - k || ly < k || ly >= TSF_TILE_H - k || x >= w || y >= h) continue;
            for (int c = 0; c < 6; ++c) s.out[c * s.nhw + (size_t)y * w + x] = tile[c][j];
        }
    }
    TSF_FOR_EACH_THREAD {
        if (rerun) {
            if (tsf_last_block(b, arrived)) {
                redo[b] = 0;
                cur[b] = 1 - cur[b];
            }
        } else {
            tsf_finish_chunk(b, k, cur, active, redo, err, arrived, stop);
        }
    }
}

// Medians of 9 and 25 values (pruned sorting networks, generated by flowkit.solvers.fused.sortnet).
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
extern "C" __global__ void tsf_median(float* S, int* cur, const int* active, const int* pairs, unsigned* arrived,
                                      int n, int h, int w, int size) {
    const int b = pairs[blockIdx.z];
    if (!active[b]) return;
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const tsf_pair_state s = tsf_state_of(S, cur, b, n, h, w);
    if (x < w && y < h) {
        const size_t i = (size_t)y * w + x;
        for (int c = 0; c < 2; ++c) {
            s.out[c * s.nhw + i] = size == 3 ? tsf_median_at<3>(s.in + c * s.nhw, x, y, h, w)
                                             : tsf_median_at<5>(s.in + c * s.nhw, x, y, h, w);
        }
        for (int c = 2; c < 6; ++c) s.out[c * s.nhw + i] = s.in[c * s.nhw + i];
    }
    if (tsf_last_block(b, arrived)) cur[b] = 1 - cur[b];
}
