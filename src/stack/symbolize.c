/* Placeholder until the symbolizer lands. */
#include "stack/symbolize.h"
