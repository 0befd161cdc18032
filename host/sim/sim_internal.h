/* Shared inside host/sim: atoms, elements, physical constants of the
 * specimen model and the host-side counter-based random stream. */
#ifndef CLRESTORE_SIM_INTERNAL_H
#define CLRESTORE_SIM_INTERNAL_H

#include <stdint.h>

#include "clrestore/simulate.h"

/* Elements with tabulated electron scattering factors (atoms.c). Anything
 * else (metal ions, ...) is scattered as CR_EL_OTHER, which uses sulfur's
 * factors: a rough stand-in, counted and reported in the specimen's desc. */
enum { CR_EL_H, CR_EL_C, CR_EL_N, CR_EL_O, CR_EL_P, CR_EL_S, CR_EL_OTHER, CR_EL_COUNT };

typedef struct cr_atom {
    float x, y, z; /* Å */
    int el;        /* CR_EL_* */
} cr_atom;

/* Reads the atoms of a PDB (.pdb, .ent) or mmCIF (.cif, .mmcif) file: first
 * model only, first alternate location, waters (HOH, WAT, DOD) skipped.
 * *has_h says whether explicit hydrogens were present. */
cr_status cr_atoms_read(const char *path, cr_atom **atoms, int *n, int *has_h);
/* The built-in molecule's atoms, centred at the origin (atoms_builtin.c). */
cr_status cr_atoms_builtin(cr_atom **atoms, int *n);
/* Excess potential map from atoms (see atoms.c); implicit_h adds the average
 * number of bonded hydrogens to each heavy atom (united atoms). */
cr_status cr_atoms_to_specimen(const cr_atom *atoms, int n, double apix, int implicit_h, const char *desc,
                               cr_specimen **out);
/* Element index from a symbol ("C", "Fe", " N"); CR_EL_OTHER when unknown. */
int cr_element_index(const char *sym);

/* Mean inner potentials from the same scattering factors (atoms.c), V. */
double cr_sim_ice_potential(void);      /* vitreous ice, 0.92 g/cm³ */
double cr_sim_protein_excess(void);     /* average protein minus ice */
double cr_sim_carbon_potential(void);   /* amorphous carbon, 2.0 g/cm³ */
/* Interaction constant σ (rad / (V·Å)) at an accelerating voltage in kV. */
double cr_sim_interaction_constant(double kv);

/* A host random stream: Philox4x32-10 keyed by a 64-bit seed, counter =
 * (draw number, stream, sub-stream): the n-th draw of a stream depends only
 * on (seed, stream, sub, n), never on the order of other work. */
typedef struct cr_rng {
    uint32_t key[2];
    uint32_t ctr[4];
    uint32_t buf[4];
    int left;
} cr_rng;

void cr_rng_init(cr_rng *r, uint64_t seed, uint32_t stream, uint32_t sub);
uint32_t cr_rng_u32(cr_rng *r);
double cr_rng_uniform(cr_rng *r); /* [0, 1), 53 bits */
double cr_rng_normal(cr_rng *r);  /* standard normal (Box-Muller) */

/* Streams of the simulation, so that changing one kind of draw never shifts
 * another. */
enum { CR_STREAM_CTF = 1, CR_STREAM_ICE, CR_STREAM_CARBON, CR_STREAM_PARTICLES, CR_STREAM_BUILTIN };

#endif
