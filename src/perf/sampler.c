/* Placeholder until the sampler lands. */
#include "perf/sampler.h"
