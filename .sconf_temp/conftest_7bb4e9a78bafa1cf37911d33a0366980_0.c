

#include "criterion/criterion.h"

int
main() {
  
return 0;
}
