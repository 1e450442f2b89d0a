#include "safecopy.h"

const char *safecopy_status_name(enum safecopy_status status)
{
	switch (status) {
	case SAFECOPY_OK:
		return "ok";
	case SAFECOPY_SEGV:
		return "segv";
	case SAFECOPY_BUS:
		return "bus";
	case SAFECOPY_ALIGN:
		return "align";
	case SAFECOPY_RANGE:
		return "range";
	case SAFECOPY_INVAL:
		return "inval";
	}
	return "unknown";
}
