/* C++ and Rust names, demangled with libiberty (the GNU demangler binutils and gdb use).
 * Its automatic style tries Rust first, then the Itanium C++ ABI: legacy Rust names
 * (_ZN...17h<hash>E) come out as "crate::module::function" without the hash, v0 names
 * (_R...) likewise, C++ names with their parameter types. */
#include "stack/symbolize_int.h"

#include <libiberty/demangle.h>

char *symbol_demangle(const char *name)
{
	/* Only what can be mangled: the demangler is not asked about every C name. */
	if (name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
}
