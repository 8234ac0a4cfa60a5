// Brox et al. kernels for flowkit.solvers.fused.brox (NumPy twin: fixed_point_step of
// flowkit.solvers.brox).
//
// One fixed-point iteration of a pyramid level is tsf_brox_links (the smoothness weights), then
// tsf_brox_system (the linear system's coefficients), then two launches of tsf_brox_sor per SOR
// sweep, one for each colour of the red-black ordering. Planes are (N, H, W) float32; blocks are
// tiles of one pair, blockIdx.z. Each kernel takes its twin's operations in the same order, and
// with no FMA contraction it rounds as the twin does.

// Central differences of f + df at (x, y) along x and y, on a replicated border (centered_gradient).
__device__ __forceinline__ void tsf_brox_central(const float* f, const float* df, int x, int y, int h, int w,
                                                float* cx, float* cy) {
    const size_t row = (size_t)y * w;
    const size_t left = row + (x > 0 ? x - 1 : 0), right = row + (x < w - 1 ? x + 1 : w - 1);
    const size_t up = (size_t)(y > 0 ? y - 1 : 0) * w + x, down = (size_t)(y < h - 1 ? y + 1 : h - 1) * w + x;
    *cx = 0.5f * ((f[right] + df[right]) - (f[left] + df[left]));
    *cy = 0.5f * ((f[down] + df[down]) - (f[up] + df[up]));
}

// Psi' of one link between pixels i and j (j the left or upper neighbour): the flow's difference
// along the link, and the mean of the two pixels' central differences across it (cu, cv).
__device__ __forceinline__ float tsf_brox_link(const float* u, const float* v, const float* du, const float* dv,
                                              size_t i, size_t j, float cu, float cv, float eps2) {
    const float a = (u[i] + du[i]) - (u[j] + du[j]);
    const float b = (v[i] + dv[i]) - (v[j] + dv[j]);
    const float c = 0.5f * cu, d = 0.5f * cv;
    return 0.5f / sqrtf((((a * a + b * b) + c * c) + d * d) + eps2);
}

// Smoothness weights of the flow u + du, v + dv (_diffusivity): sx links each pixel to its left
// neighbour, sy to its upper one, 0 on the first column and row.
extern "C" __global__ void tsf_brox_links(const float* u, const float* v, const float* du, const float* dv,
                                          float* sx, float* sy, int h, int w, float eps2) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    const size_t plane = (size_t)h * w, off = blockIdx.z * plane, i = (size_t)y * w + x;
    u += off, v += off, du += off, dv += off;
    float ucx, ucy, vcx, vcy, pcx, pcy, qcx, qcy;
    tsf_brox_central(u, du, x, y, h, w, &ucx, &ucy);
    tsf_brox_central(v, dv, x, y, h, w, &vcx, &vcy);
    float left = 0.0f, up = 0.0f;
    if (x > 0) {
        tsf_brox_central(u, du, x - 1, y, h, w, &pcx, &pcy);
        tsf_brox_central(v, dv, x - 1, y, h, w, &qcx, &qcy);
        left = tsf_brox_link(u, v, du, dv, i, i - 1, ucy + pcy, vcy + qcy, eps2);
    }
    if (y > 0) {
        tsf_brox_central(u, du, x, y - 1, h, w, &pcx, &pcy);
        tsf_brox_central(v, dv, x, y - 1, h, w, &qcx, &qcy);
        up = tsf_brox_link(u, v, du, dv, i, i - w, ucx + pcx, vcx + qcx, eps2);
    }
    sx[off + i] = left;
    sy[off + i] = up;
}

// sum_n s_n f_n over the four neighbours of pixel (x, y), i = y * w + x (_neighbours).
__device__ __forceinline__ float tsf_brox_neighbours(const float* f, const float* sx, const float* sy, int x, int y,
                                                    int h, int w, size_t i) {
    float out = x > 0 ? sx[i] * f[i - 1] : 0.0f;
    if (x < w - 1) out += sx[i + 1] * f[i + 1];
    if (y > 0) out += sy[i] * f[i - w];
    if (y < h - 1) out += sy[i + w] * f[i + w];
    return out;
}

// The linear system of one fixed-point iteration at each pixel: the data term's weight Psi' at
// (du, dv), and with the link weights the SOR steps omega / (a_ii + S), the coupling a12 and the
// right-hand sides sum_n s_n u_n - S u - b, which stay fixed during the sweeps.
extern "C" __global__ void tsf_brox_system(const float* u, const float* v, const float* du, const float* dv,
                                           const float* ix, const float* iy, const float* ixx, const float* ixy,
                                           const float* iyy, const float* iz, const float* ixz, const float* iyz,
                                           const float* sx, const float* sy, float* a12, float* rhs_u, float* rhs_v,
                                           float* step_u, float* step_v, int h, int w, float gamma,
                                           float psi_scale, float eps2, float omega) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    const size_t plane = (size_t)h * w, off = blockIdx.z * plane, i = (size_t)y * w + x, k = off + i;
    const float gx = ix[k], gy = iy[k], gxx = ixx[k], gxy = ixy[k], gyy = iyy[k];
    const float z = iz[k], zx = ixz[k], zy = iyz[k], a = du[k], b = dv[k];
    const float q0 = (z + gx * a) + gy * b;
    const float q1 = (zx + gxx * a) + gxy * b;
    const float q2 = (zy + gxy * a) + gyy * b;
    const float psi = psi_scale / sqrtf((q0 * q0 + gamma * (q1 * q1 + q2 * q2)) + eps2);
    const float a11 = psi * (gx * gx + gamma * (gxx * gxx + gxy * gxy));
    const float a22 = psi * (gy * gy + gamma * (gxy * gxy + gyy * gyy));
    const float b1 = psi * (gx * z + gamma * (gxx * zx + gxy * zy));
    const float b2 = psi * (gy * z + gamma * (gxy * zx + gyy * zy));
    const float* lx = sx + off;
    const float* ly = sy + off;
    float total = lx[i] + ly[i];
    if (x < w - 1) total += lx[i + 1];
    if (y < h - 1) total += ly[i + w];
    a12[k] = psi * (gx * gy + (gamma * gxy) * (gxx + gyy));
    rhs_u[k] = (tsf_brox_neighbours(u + off, lx, ly, x, y, h, w, i) - total * u[k]) - b1;
    rhs_v[k] = (tsf_brox_neighbours(v + off, lx, ly, x, y, h, w, i) - total * v[k]) - b2;
    step_u[k] = omega / (a11 + total);
    step_v[k] = omega / (a22 + total);
}

// Half an SOR sweep: the pixels with (x + y) % 2 == colour, in place. Their four neighbours have
// the other colour and are not written in this launch, so the threads are independent. Each
// thread updates du, then dv with the new du. Threads cover every other pixel of a row.
extern "C" __global__ void tsf_brox_sor(float* du, float* dv, const float* sx, const float* sy, const float* a12,
                                        const float* rhs_u, const float* rhs_v, const float* step_u,
                                        const float* step_v, int h, int w, float inertia, int colour) {
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const int x = 2 * (blockIdx.x * blockDim.x + threadIdx.x) + ((y + colour) & 1);
    if (x >= w || y >= h) return;
    const size_t plane = (size_t)h * w, off = blockIdx.z * plane, i = (size_t)y * w + x, k = off + i;
    const float* lx = sx + off;
    const float* ly = sy + off;
    const float a = inertia * du[k] + step_u[k] * ((tsf_brox_neighbours(du + off, lx, ly, x, y, h, w, i) + rhs_u[k])
                                                   - a12[k] * dv[k]);
    du[k] = a;
    dv[k] = inertia * dv[k] + step_v[k] * ((tsf_brox_neighbours(dv + off, lx, ly, x, y, h, w, i) + rhs_v[k])
                                           - a12[k] * a);
}
