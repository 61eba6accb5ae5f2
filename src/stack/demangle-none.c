/* Built without libiberty: C++ and Rust names stay mangled. */
#include "stack/symbolize_int.h"

char *symbol_demangle(const char *name)
{
	(void)name;
	return NULL;
}
