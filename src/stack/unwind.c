/* Placeholder until the unwinder lands. */
#include "stack/unwind.h"
