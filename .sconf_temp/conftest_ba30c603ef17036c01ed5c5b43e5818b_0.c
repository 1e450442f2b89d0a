

#include "sigsegv.h"

int
main() {
  
return 0;
}
