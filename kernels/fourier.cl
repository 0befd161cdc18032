/* Fourier-space operations on half spectra and image statistics, for the
 * pre-processing and un-binning chains (REFERENCE.md "CTF", "Pre-processing",
 * "Denoising a full micrograph"; docs/fourier.md).
 *
 * Half spectrum of an ny x nx real image: ny rows x hx = nx/2 + 1 columns of
 * float2 (re, im), row-major. Column c is the column frequency index c; row r
 * is the row frequency index r for r <= (ny-1)/2, else r - ny (so an even ny
 * keeps -ny/2, the Nyquist row, as PRODUCT.md's [-H/2, H/2 - 1]). Physical
 * frequency s = (c * dsx, k_y * dsy) in 1/A, with ds = 1/(n * pixel size).
 * 2D kernels run on (columns, rows) of the array they write. */

#ifdef CR_HAVE_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
/* The CTF phase reaches hundreds of radians at high frequency; double keeps
 * sign(CTF) right next to its zeros (float would flip a few pixels). */
typedef double real_t;
typedef double2 real2;
typedef double8 real8;
#else
typedef float real_t;
typedef float2 real2;
typedef float8 real8;
#endif

#define CR_PI 3.14159265358979323846

inline int freq_index(int r, int n)
{
    return r <= (n - 1) / 2 ? r : r - n;
}

/* CTF in the RELION convention (REFERENCE.md "CTF"):
 *   df(a)  = (U + V)/2 + (U - V)/2 cos(2(a - a_ast)),  a = atan2(sy, sx)
 *   gamma  = -pi lambda df s^2 + (pi/2) Cs lambda^3 s^4 - phi
 *   CTF    = -(sqrt(1 - A^2) sin(gamma) - A cos(gamma))
 * cos(2(a - a_ast)) = cos2a cos2ast + sin2a sin2ast with cos2a = (sx^2 - sy^2)/s^2,
 * sin2a = 2 sx sy / s^2, which avoids atan2 and is exact at s = 0 (df unused).
 * p = {lambda [A], Cs [A], U [A], V [A], cos 2a_ast, sin 2a_ast, A, phi [rad]}. */
inline real_t ctf_value(real8 p, real_t sx, real_t sy)
{
    real_t s2 = sx * sx + sy * sy;
    real_t df = (real_t)0.5 * (p.s2 + p.s3);
    if (s2 > 0) {
        real_t c2a = (sx * sx - sy * sy) / s2, s2a = 2 * sx * sy / s2;
        df += (real_t)0.5 * (p.s2 - p.s3) * (c2a * p.s4 + s2a * p.s5);
    }
    real_t lam = p.s0;
    real_t gamma = -(real_t)CR_PI * lam * df * s2 + (real_t)(CR_PI / 2) * p.s1 * lam * lam * lam * s2 * s2 - p.s7;
    real_t a = p.s6;
    return -(sqrt(1 - a * a) * sin(gamma) - a * cos(gamma));
}

/* out[r, c] = CTF at the half-spectrum point (r, c); out is ny x (nx/2+1). */
__kernel void ctf_eval(__global float *out, const int nx, const int ny, const real2 ds, const real8 p)
{
    int c = get_global_id(0), r = get_global_id(1), hx = nx / 2 + 1;
    if (c >= hx || r >= ny) return;
    out[r * hx + c] = (float)ctf_value(p, c * ds.x, freq_index(r, ny) * ds.y);
}

/* Phase flip: spec *= sign(CTF), with sign(0) = +1 so that flipping twice is
 * the identity everywhere. */
__kernel void ctf_flip(__global float2 *spec, const int nx, const int ny, const real2 ds, const real8 p)
{
    int c = get_global_id(0), r = get_global_id(1), hx = nx / 2 + 1;
    if (c >= hx || r >= ny) return;
    if (ctf_value(p, c * ds.x, freq_index(r, ny) * ds.y) < 0) spec[r * hx + c] = -spec[r * hx + c];
}

/* Fourier crop (bin): dst (by x (bx/2+1), bx and by even) keeps the row
 * indices [-by/2, by/2 - 1] and column indices [0, bx/2] of src (ny x nx),
 * times scale (bx by / (nx ny) keeps the image's amplitude; 1 = bit-exact). */
__kernel void fourier_crop(__global const float2 *src, const int nx, const int ny, __global float2 *dst,
                           const int bx, const int by, const float scale)
{
    int c = get_global_id(0), r = get_global_id(1), bhx = bx / 2 + 1;
    if (c >= bhx || r >= by) return;
    int ky = r < by / 2 ? r : r - by;
    int sr = ky < 0 ? ky + ny : ky;
    dst[r * bhx + c] = src[sr * (nx / 2 + 1) + c] * scale;
}

/* Zero-pad (un-bin): dst (ny x nx) gets src (by x bx, even) at the same
 * frequency indices and zero elsewhere, times scale. The binned Nyquist row
 * and column stand for +N/2 and -N/2 at once; in the larger spectrum those are
 * two frequencies, so each gets half (the padded image then interpolates the
 * binned one exactly). When bx = nx (by = ny) that axis is not padded. */
__kernel void fourier_pad(__global const float2 *src, const int bx, const int by, __global float2 *dst,
                          const int nx, const int ny, const float scale)
{
    int c = get_global_id(0), r = get_global_id(1), hx = nx / 2 + 1;
    if (c >= hx || r >= ny) return;
    int ky = freq_index(r, ny);
    float2 v = (float2)(0.0f, 0.0f);
    int ny_half = by / 2;
    if (c <= bx / 2 && ky >= -ny_half && ky <= ny_half) {
        int pad_y = by < ny, pad_x = bx < nx;
        if (ky == ny_half && !pad_y) {
            v = (float2)(0.0f, 0.0f); /* +by/2 does not exist when by = ny */
        } else {
            int sr = ky < 0 ? ky + by : ky;
            if (ky == ny_half) sr = ny_half; /* +by/2 reads the binned -by/2 row */
            float f = scale;
            if (pad_y && (ky == ny_half || ky == -ny_half)) f *= 0.5f;
            if (pad_x && c == bx / 2) f *= 0.5f;
            v = src[sr * (bx / 2 + 1) + c] * f;
        }
    }
    dst[r * hx + c] = v;
}

/* Makes the self-conjugate columns (0 and nx/2, nx even) of a half spectrum
 * Hermitian along the rows: X[r] = conj(X[-r]). A cropped spectrum is not, at
 * the new Nyquist row and column, and c2r transforms differ in what they do
 * with such input; the projection (X[r] + conj(X[-r]))/2 is what the real part
 * of the full inverse DFT uses, so every backend then agrees. Run on
 * (ny/2 + 1, 2): one work-item per pair of rows, second index picks the column. */
__kernel void hermitian_nyquist(__global float2 *spec, const int nx, const int ny)
{
    int r = get_global_id(0), which = get_global_id(1), hx = nx / 2 + 1;
    if (r > ny / 2 || which > 1) return;
    if (which == 1 && (nx % 2 != 0 || nx < 2)) return;
    int c = which ? nx / 2 : 0;
    int rr = r == 0 ? 0 : ny - r;
    float2 a = spec[r * hx + c], b = spec[rr * hx + c];
    float2 v = 0.5f * (a + (float2)(b.x, -b.y));
    spec[r * hx + c] = v;
    spec[rr * hx + c] = (float2)(v.x, -v.y);
}

/* Butterworth band-pass, exponent 10 (REFERENCE.md step 4):
 * HP(s) = 1/(1 + (hp/s)^10), LP(s) = 1/(1 + (s/lp)^10); HP(0) = 0. */
__kernel void bandpass(__global float2 *spec, const int nx, const int ny, const float2 ds, const float hp,
                       const float lp)
{
    int c = get_global_id(0), r = get_global_id(1), hx = nx / 2 + 1;
    if (c >= hx || r >= ny) return;
    float sx = c * ds.x, sy = freq_index(r, ny) * ds.y;
    float s2 = sx * sx + sy * sy;
    float g = 0.0f;
    if (s2 > 0.0f) {
        float h = hp * hp / s2, l = s2 / (lp * lp); /* squared ratios: ^5 gives ^10 */
        float h5 = h * h * h * h * h, l5 = l * l * l * l * l;
        g = 1.0f / ((1.0f + h5) * (1.0f + l5));
    }
    spec[r * hx + c] *= g;
}

/* 5th-order smoothstep 6t^5 - 15t^4 + 10t^3 of s between lo and hi. */
inline float smoothstep5(float lo, float hi, float s)
{
    float t = clamp((s - lo) / (hi - lo), 0.0f, 1.0f);
    return t * t * t * (t * (t * 6.0f - 15.0f) + 10.0f);
}

/* Soft low-pass for un-binning: spec *= 1 - smoothstep(s; lo, hi),
 * lo = 1/(r + w), hi = 1/r (REFERENCE.md "Denoising a full micrograph"). */
__kernel void lowpass_mask(__global float2 *spec, const int nx, const int ny, const float2 ds, const float lo,
                           const float hi)
{
    int c = get_global_id(0), r = get_global_id(1), hx = nx / 2 + 1;
    if (c >= hx || r >= ny) return;
    float sx = c * ds.x, sy = freq_index(r, ny) * ds.y;
    spec[r * hx + c] *= 1.0f - smoothstep5(lo, hi, sqrt(sx * sx + sy * sy));
}

/* Partial sums for the raw-to-denoised amplitude ratio in the transition band
 * lo <= s <= hi, over points where the denoised spectrum is non-zero (above
 * the binned cut-off it is zero by construction). Work-item i strides over
 * the half spectrum by the global size; partial[2i] = sum |den|, [2i+1] = sum |raw|. */
__kernel void merge_band_partial(__global const float2 *den, __global const float2 *raw, const int nx, const int ny,
                                 const float2 ds, const float lo, const float hi, __global float *partial)
{
    int i = get_global_id(0), g = get_global_size(0), hx = nx / 2 + 1;
    float sd = 0.0f, sr = 0.0f;
    for (int k = i; k < hx * ny; k += g) {
        int c = k % hx, r = k / hx;
        float sx = c * ds.x, sy = freq_index(r, ny) * ds.y;
        float s = sqrt(sx * sx + sy * sy);
        float ad = length(den[k]);
        if (s >= lo && s <= hi && ad > 0.0f) {
            sd += ad;
            sr += length(raw[k]);
        }
    }
    partial[2 * i] = sd;
    partial[2 * i + 1] = sr;
}

/* Merge noisy: weight m = 1 - smoothstep(s; lo, hi) on the denoised spectrum,
 * 1 - m on the raw one scaled by raw_scale; amplitudes mix linearly and the
 * phase moves from the denoised towards the raw one by the shorter arc. */
__kernel void merge_noisy(__global float2 *den, __global const float2 *raw, const int nx, const int ny,
                          const float2 ds, const float lo, const float hi, const float raw_scale)
{
    int c = get_global_id(0), r = get_global_id(1), hx = nx / 2 + 1;
    if (c >= hx || r >= ny) return;
    float sx = c * ds.x, sy = freq_index(r, ny) * ds.y;
    float m = 1.0f - smoothstep5(lo, hi, sqrt(sx * sx + sy * sy));
    float2 d = den[r * hx + c], w = raw[r * hx + c];
    float ad = length(d), aw = length(w) * raw_scale;
    float pd = atan2(d.y, d.x), pw = atan2(w.y, w.x);
    float dp = pw - pd;
    dp -= (float)(2 * CR_PI) * floor((dp + (float)CR_PI) / (float)(2 * CR_PI)); /* wrap to [-pi, pi) */
    float amp = m * ad + (1.0f - m) * aw;
    float ph = pd + (1.0f - m) * dp;
    den[r * hx + c] = amp * (float2)(cos(ph), sin(ph));
}

/* Statistics: work-item i sums x[k] - shift and its square over k = i, i + G,
 * ... (G = global size) with Kahan compensation, so each partial is accurate
 * to float rounding however long its run; the host adds the G partials in
 * double. With shift = a first estimate of the mean the second pass gives the
 * variance without cancellation (two-pass algorithm; Higham, "Accuracy and
 * Stability of Numerical Algorithms", 2nd ed., sections 4.3 and 1.9). */
__kernel void sum_partial(__global const float *x, const long n, const float shift, __global float *partial)
{
    long i = get_global_id(0), g = get_global_size(0);
    float s = 0.0f, cs = 0.0f, q = 0.0f, cq = 0.0f;
    for (long k = i; k < n; k += g) {
        float d = x[k] - shift;
        float y = d - cs, t = s + y;
        cs = (t - s) - y;
        s = t;
        float y2 = d * d - cq, t2 = q + y2;
        cq = (t2 - q) - y2;
        q = t2;
    }
    partial[2 * i] = s;
    partial[2 * i + 1] = q;
}

/* y = ((x - m_hi) - m_lo) * a (y may be x): z-score normalisation with the
 * mean split into two floats; x - m_hi is exact near the mean (Sterbenz), so
 * a large mean (10^4 counts) costs no precision, unlike a x + b. */
__kernel void zscore_f32(__global const float *x, __global float *y, const long n, const float a, const float m_hi,
                         const float m_lo)
{
    long i = get_global_id(0);
    if (i < n) y[i] = ((x[i] - m_hi) - m_lo) * a;
}
