/* Placeholder until the off-CPU loader lands. */
#include "bpf/offcpu.h"
