/*
 * The refusal cache (src/usertrap/refused.c): a clear forgets every refused site, also when it skips
 * its scan because nothing was refused since the last one, and an insert made with the generation of
 * before a clear takes itself back.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>

extern bool ut_refused(uintptr_t site);
extern unsigned ut_refused_generation(void);
extern void ut_refuse(uintptr_t site, unsigned gen);
extern void ut_refused_clear(void);

#define SITE 0x401000u

Test(refused_cache, clear_forgets_and_bumps_the_generation)
{
	unsigned g = ut_refused_generation();
	ut_refuse(SITE, g);
	ut_refuse(SITE + 16, g);
	cr_assert(ut_refused(SITE));
	cr_assert(ut_refused(SITE + 16));
	ut_refused_clear();
	cr_assert_not(ut_refused(SITE));
	cr_assert_not(ut_refused(SITE + 16));
	cr_assert_eq(ut_refused_generation(), g + 1);
	ut_refused_clear(); /* nothing refused since: no scan, the generation still moves */
	cr_assert_eq(ut_refused_generation(), g + 2);
	ut_refuse(SITE, g + 2);
	cr_assert(ut_refused(SITE), "remembered again after a clear that skipped its scan");
}

/* An insert that began before a clear (its generation is older) and ends after it takes itself back,
 * also when that clear found nothing refused and skipped its scan. */
Test(refused_cache, insert_older_than_a_skipped_clear_is_taken_back)
{
	unsigned g = ut_refused_generation();
	ut_refused_clear();
	ut_refuse(SITE, g);
	cr_assert_not(ut_refused(SITE));
	ut_refuse(SITE, g + 1);
	cr_assert(ut_refused(SITE));
}
