/*-------------------------------------------------------------------------
 *
 * ejson.c
 *	  from_ejson(): MongoDB Extended JSON v2, relaxed and canonical (and the
 *	  legacy forms mongoexport and the shell still write), to plain JSON.
 *
 * A wrapper is an object whose key set is exactly one of the Extended JSON
 * type keys ({"$oid"}, {"$date"}, {"$binary", "$type"}, ...); any other
 * object, extra keys or unknown "$" keys included, is an ordinary object
 * whose values are converted.  A wrapper with the right keys but a bad value
 * is an error (22P02) naming its JSON path: importing it as an ordinary
 * object would silently store something the source never meant.
 *
 * The output is built with pushJsonbValue; unchanged subtrees are pushed as
 * binary containers.  A document without any "$" key is returned as is.
 *
 * src/merge/ejson.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "common/int.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "merge/ejson.h"
#include "pg_compat.h"

#define MS_PER_DAY INT64CONST(86400000)
#define UINT32_LIMIT INT64CONST(4294967295)
/* numeric_in rejects a written exponent beyond this (NUMERIC_MAX_PRECISION) */
#define NUMERIC_EXPONENT_LIMIT 1000

typedef struct EjsonState
{
	JsonbParseState *parse;		/* the output being built */
	JsonbValue *result;			/* the last pushJsonbValue result */
	StringInfoData path;		/* JSON path of the value being converted */
	bool		changed;		/* a wrapper was replaced */
} EjsonState;

static void convert_value(EjsonState *st, JsonbIteratorToken seq, JsonbValue *v);

/* seq is WJB_KEY/WJB_VALUE/WJB_ELEM, or WJB_DONE for the root */
static void
push(EjsonState *st, JsonbIteratorToken seq, JsonbValue *v)
{
	st->result = pushJsonbValue(&st->parse, seq, v);
}

/* Push a scalar; at the root it becomes a raw scalar array */
static void
push_scalar(EjsonState *st, JsonbIteratorToken seq, JsonbValue *v)
{
	JsonbValue	array;

	if (seq != WJB_DONE)
	{
		push(st, seq, v);
		return;
	}
	array.type = jbvArray;
	array.val.array.rawScalar = true;
	array.val.array.nElems = 1;
	push(st, WJB_BEGIN_ARRAY, &array);
	push(st, WJB_ELEM, v);
	push(st, WJB_END_ARRAY, NULL);
}

static void
push_string(EjsonState *st, JsonbIteratorToken seq, char *str, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = str;
	v.val.string.len = len;
	push_scalar(st, seq, &v);
}

static void
push_key(EjsonState *st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	push(st, WJB_KEY, &k);
}

static void
append_path_key(StringInfo path, const char *key, int len)
{
	bool		plain = len > 0 && !isdigit((unsigned char) key[0]);

	for (int i = 0; i < len && plain; i++)
		plain = isalnum((unsigned char) key[i]) || key[i] == '_' || key[i] == '$';
	appendStringInfoChar(path, '.');
	if (plain)
		appendBinaryStringInfo(path, key, len);
	else
		escape_json(path, pnstrdup(key, len));
}

pg_noreturn static void
malformed(EjsonState *st, const char *wrapper, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed Extended JSON %s at %s", wrapper, st->path.data),
			 errdetail("The value of \"%s\" must be %s.", wrapper, expected),
			 errhint("Fix the value, or give the object another key so that it is not read as an Extended JSON wrapper.")));
}

static bool
is_string(JsonbValue *v)
{
	return v->type == jbvString;
}

static bool
key_is(JsonbValue *key, const char *name)
{
	return key->val.string.len == (int) strlen(name) &&
		memcmp(key->val.string.val, name, key->val.string.len) == 0;
}

/*
 * The key-value pairs of an object of at most two keys; returns their
 * number, or -1 for a larger object.
 */
static int
small_object_pairs(JsonbContainer *c, JsonbValue *keys, JsonbValue *values)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;

	if (JsonContainerSize(c) > 2)
		return -1;
	it = JsonbIteratorInit(c);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			keys[n] = v;
		else if (tok == WJB_VALUE)
			values[n++] = v;
	}
	return n;
}

/* The value of key name among n pairs, or NULL */
static JsonbValue *
pair(JsonbValue *keys, JsonbValue *values, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (key_is(&keys[i], name))
			return &values[i];
	return NULL;
}

/* An object value of a pair as a container, or NULL */
static JsonbContainer *
object_value(JsonbValue *v)
{
	if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
		return v->val.binary.data;
	return NULL;
}

/* Strict decimal integer: optional '-', digits only, within [min, max] */
static bool
parse_integer(const char *s, int len, int64 min, int64 max, int64 *out)
{
	bool		negative = len > 0 && s[0] == '-';
	int			i = negative ? 1 : 0;
	int64		value = 0;

	if (i == len)
		return false;
	/* accumulate negatively: the magnitude of INT64_MIN exceeds INT64_MAX */
	for (; i < len; i++)
	{
		if (!isdigit((unsigned char) s[i]) ||
			pg_mul_s64_overflow(value, 10, &value) ||
			pg_sub_s64_overflow(value, s[i] - '0', &value))
			return false;
	}
	if (!negative)
	{
		if (value == PG_INT64_MIN)
			return false;
		value = -value;
	}
	if (value < min || value > max)
		return false;
	*out = value;
	return true;
}

/*
 * A decimal number numeric_in reads exactly: -?(d+(.d*)?|.d+)([eE][+-]?d+)?
 * with a written exponent of at most NUMERIC_EXPONENT_LIMIT.
 */
static bool
is_decimal(const char *s, int len)
{
	int			i = 0;
	int			digits = 0;
	int			exponent = 0;

	if (i < len && s[i] == '-')
		i++;
	for (; i < len && isdigit((unsigned char) s[i]); i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && isdigit((unsigned char) s[i]); i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		int			exp_digits = 0;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < len && isdigit((unsigned char) s[i]); i++, exp_digits++)
			if (exponent <= NUMERIC_EXPONENT_LIMIT)
				exponent = exponent * 10 + (s[i] - '0');
		if (exp_digits == 0 || exponent > NUMERIC_EXPONENT_LIMIT)
			return false;
	}
	return i == len;
}

static void
push_numeric(EjsonState *st, JsonbIteratorToken seq, const char *s, int len)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
														CStringGetDatum(pnstrdup(s, len)),
														ObjectIdGetDatum(InvalidOid),
														Int32GetDatum(-1)));
	push_scalar(st, seq, &v);
}

/* A JSON number that is an integer within [min, max] */
static bool
numeric_integer(JsonbValue *v, int64 min, int64 max, int64 *out)
{
	char	   *s;

	if (v->type != jbvNumeric)
		return false;
	s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	return parse_integer(s, strlen(s), min, max, out);
}

/* NaN and the infinities have no JSON number: they become these strings */
static bool
is_special_float(const char *s, int len)
{
	return (len == 3 && memcmp(s, "NaN", 3) == 0) ||
		(len == 8 && memcmp(s, "Infinity", 8) == 0) ||
		(len == 9 && memcmp(s, "-Infinity", 9) == 0);
}

static bool
is_hex(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (!isxdigit((unsigned char) s[i]))
			return false;
	return true;
}

static char *
lower_copy(const char *s, int len)
{
	char	   *out = palloc(len + 1);

	for (int i = 0; i < len; i++)
		out[i] = pg_ascii_tolower((unsigned char) s[i]);
	out[len] = '\0';
	return out;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant) */
static int64
days_from_civil(int64 y, int m, int d)
{
	int64		era;
	int64		yoe;
	int64		doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void
civil_from_days(int64 z, int64 *year, int *month, int *day)
{
	int64		era;
	int64		doe;
	int64		yoe;
	int64		doy;
	int64		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*day = (int) (doy - (153 * mp + 2) / 5 + 1);
	*month = (int) (mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}

static int
days_in_month(int64 y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/*
 * Milliseconds since the epoch as JavaScript's toISOString writes them:
 * YYYY-MM-DDTHH:MM:SS.mmmZ, years outside 0..9999 as a sign and at least
 * six digits (JavaScript's expanded years; beyond its +-275760 the same
 * form with more digits).
 */
static char *
iso_from_ms(int64 ms)
{
	int64		days = ms / MS_PER_DAY;
	int64		rest = ms % MS_PER_DAY;
	int64		year;
	int			month;
	int			day;
	char		year_text[32];

	if (rest < 0)
	{
		rest += MS_PER_DAY;
		days--;
	}
	civil_from_days(days, &year, &month, &day);
	if (year >= 0 && year <= 9999)
		snprintf(year_text, sizeof(year_text), "%04d", (int) year);
	else
		snprintf(year_text, sizeof(year_text), "%c%06lld", year < 0 ? '-' : '+',
				 (long long) (year < 0 ? -year : year));
	return psprintf("%s-%02d-%02dT%02d:%02d:%02d.%03dZ", year_text, month, day,
					(int) (rest / 3600000), (int) (rest / 60000 % 60),
					(int) (rest / 1000 % 60), (int) (rest % 1000));
}

/* n digits at s[*i] as a number; false unless all are digits */
static bool
digits(const char *s, int len, int *i, int n, int *out)
{
	int			value = 0;

	if (*i + n > len)
		return false;
	for (int k = 0; k < n; k++, (*i)++)
	{
		if (!isdigit((unsigned char) s[*i]))
			return false;
		value = value * 10 + (s[*i] - '0');
	}
	*out = value;
	return true;
}

static bool
expect(const char *s, int len, int *i, char c)
{
	if (*i < len && pg_ascii_toupper((unsigned char) s[*i]) == c)
	{
		(*i)++;
		return true;
	}
	return false;
}

/*
 * RFC 3339 date-time (relaxed $date): YYYY-MM-DDTHH:MM:SS[.fraction] and Z
 * or +HH:MM / +HHMM; years may be written expanded (+YYYYYY).  Fractions
 * beyond milliseconds are truncated.
 */
static bool
parse_iso(const char *s, int len, int64 *ms)
{
	int			i = 0;
	int			year;
	int			month;
	int			day;
	int			hour;
	int			minute;
	int			second;
	int			millis = 0;
	int			offset = 0;
	int64		signed_year;

	if (len > 0 && (s[0] == '+' || s[0] == '-'))
	{
		i++;
		if (!digits(s, len, &i, 6, &year))
			return false;
		signed_year = s[0] == '-' ? -year : year;
	}
	else
	{
		if (!digits(s, len, &i, 4, &year))
			return false;
		signed_year = year;
	}
	if (!expect(s, len, &i, '-') || !digits(s, len, &i, 2, &month) ||
		!expect(s, len, &i, '-') || !digits(s, len, &i, 2, &day) ||
		!expect(s, len, &i, 'T') || !digits(s, len, &i, 2, &hour) ||
		!expect(s, len, &i, ':') || !digits(s, len, &i, 2, &minute) ||
		!expect(s, len, &i, ':') || !digits(s, len, &i, 2, &second))
		return false;
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(signed_year, month) ||
		hour > 23 || minute > 59 || second > 59)
		return false;
	if (expect(s, len, &i, '.'))
	{
		int			n = 0;

		for (; i < len && isdigit((unsigned char) s[i]); i++, n++)
			if (n < 3)
				millis = millis * 10 + (s[i] - '0');
		if (n == 0)
			return false;
		for (; n < 3; n++)
			millis *= 10;
	}
	if (!expect(s, len, &i, 'Z'))
	{
		int			sign;
		int			oh;
		int			om;

		if (i >= len || (s[i] != '+' && s[i] != '-'))
			return false;
		sign = s[i++] == '-' ? -1 : 1;
		if (!digits(s, len, &i, 2, &oh))
			return false;
		expect(s, len, &i, ':');
		if (!digits(s, len, &i, 2, &om) || oh > 23 || om > 59)
			return false;
		offset = sign * (oh * 60 + om);
	}
	if (i != len)
		return false;
	*ms = days_from_civil(signed_year, month, day) * MS_PER_DAY +
		((int64) hour * 3600 + minute * 60 + second) * 1000 + millis -
		(int64) offset * 60000;
	return true;
}

static void
convert_date(EjsonState *st, JsonbIteratorToken seq, JsonbValue *v)
{
	static const char *expected =
		"an RFC 3339 date-time string, {\"$numberLong\": \"<milliseconds>\"} or an integer of milliseconds";
	JsonbValue	keys[2];
	JsonbValue	values[2];
	JsonbContainer *c = object_value(v);
	int64		ms;
	char	   *iso;

	if (is_string(v))
	{
		if (!parse_iso(v->val.string.val, v->val.string.len, &ms))
			malformed(st, "$date", expected);
	}
	else if (c != NULL)
	{
		if (small_object_pairs(c, keys, values) != 1 || !key_is(&keys[0], "$numberLong") ||
			!is_string(&values[0]) ||
			!parse_integer(values[0].val.string.val, values[0].val.string.len,
						   PG_INT64_MIN, PG_INT64_MAX, &ms))
			malformed(st, "$date", expected);
	}
	else if (!numeric_integer(v, PG_INT64_MIN, PG_INT64_MAX, &ms))
		malformed(st, "$date", expected);

	iso = iso_from_ms(ms);
	push_string(st, seq, iso, strlen(iso));
}

/* Base64 of a $binary: a UUID (subtype 4, 16 bytes) becomes its text form */
static void
convert_binary(EjsonState *st, JsonbIteratorToken seq, const char *wrapper,
			   JsonbValue *data, JsonbValue *subtype)
{
	char	   *b64;
	int			b64len;
	um_b64_byte *bytes;
	int			nbytes;
	int64		type;

	if (!is_string(data) || !is_string(subtype) ||
		subtype->val.string.len < 1 || subtype->val.string.len > 2 ||
		!is_hex(subtype->val.string.val, subtype->val.string.len))
		malformed(st, wrapper, "base64 text with a subtype of one or two hexadecimal digits");
	b64 = data->val.string.val;
	b64len = data->val.string.len;
	bytes = palloc(pg_b64_dec_len(b64len) + 1);
	nbytes = b64len % 4 == 0 ? pg_b64_decode(b64, b64len, bytes, pg_b64_dec_len(b64len)) : -1;
	if (nbytes < 0)
		malformed(st, wrapper, "valid base64 text");
	type = strtol(pnstrdup(subtype->val.string.val, subtype->val.string.len), NULL, 16);
	if (type == 4 && nbytes == 16)
	{
		char	   *uuid = palloc(37);
		int			pos = 0;

		for (int k = 0; k < 16; k++)
		{
			if (k == 4 || k == 6 || k == 8 || k == 10)
				uuid[pos++] = '-';
			pos += sprintf(uuid + pos, "%02x", (unsigned char) bytes[k]);
		}
		push_string(st, seq, uuid, 36);
	}
	else
		push_string(st, seq, b64, b64len);
}

/* "/pattern/options", JavaScript's String(regex) */
static void
convert_regex(EjsonState *st, JsonbIteratorToken seq, const char *wrapper,
			  JsonbValue *pattern, JsonbValue *options)
{
	StringInfoData out;

	bool		valid = is_string(pattern) && is_string(options);

	for (int i = 0; valid && i < options->val.string.len; i++)
		valid = isalpha((unsigned char) options->val.string.val[i]);
	if (!valid)
		malformed(st, wrapper, "a pattern string with an options string of letters");
	initStringInfo(&out);
	appendStringInfoChar(&out, '/');
	appendBinaryStringInfo(&out, pattern->val.string.val, pattern->val.string.len);
	appendStringInfoChar(&out, '/');
	appendBinaryStringInfo(&out, options->val.string.val, options->val.string.len);
	push_string(st, seq, out.data, out.len);
}

/*
 * Push the plain value of the wrapper c and return true, or return false
 * when c is an ordinary object.
 */
static bool
convert_wrapper(EjsonState *st, JsonbIteratorToken seq, JsonbContainer *c)
{
	JsonbValue	keys[2];
	JsonbValue	values[2];
	int			n = small_object_pairs(c, keys, values);
	JsonbValue *v;
	JsonbValue *w;
	int64		number;

	if (n < 1 || keys[0].val.string.len == 0 || keys[0].val.string.val[0] != '$')
		return false;
	v = &values[0];
	if (n == 2)
	{
		if ((v = pair(keys, values, n, "$binary")) && (w = pair(keys, values, n, "$type")))
			convert_binary(st, seq, "$binary", v, w);
		else if ((v = pair(keys, values, n, "$code")) && (w = pair(keys, values, n, "$scope")))
		{
			if (!is_string(v) || object_value(w) == NULL)
				malformed(st, "$code", "a string, with a $scope object");
			push(st, WJB_BEGIN_OBJECT, NULL);
			push_key(st, "code");
			push(st, WJB_VALUE, v);
			push_key(st, "scope");
			appendStringInfoString(&st->path, ".$scope");
			convert_value(st, WJB_VALUE, w);
			push(st, WJB_END_OBJECT, NULL);
		}
		/* the legacy $regex; with a non-string value it is the query operator */
		else if ((v = pair(keys, values, n, "$regex")) && (w = pair(keys, values, n, "$options")) &&
				 is_string(v))
			convert_regex(st, seq, "$regex", v, w);
		else
			return false;
	}
	else if (key_is(&keys[0], "$oid"))
	{
		if (!is_string(v) || v->val.string.len != 24 || !is_hex(v->val.string.val, 24))
			malformed(st, "$oid", "a string of 24 hexadecimal digits");
		push_string(st, seq, lower_copy(v->val.string.val, 24), 24);
	}
	else if (key_is(&keys[0], "$date"))
		convert_date(st, seq, v);
	else if (key_is(&keys[0], "$numberInt"))
	{
		if (!is_string(v) ||
			!parse_integer(v->val.string.val, v->val.string.len, PG_INT32_MIN, PG_INT32_MAX, &number))
			malformed(st, "$numberInt", "a string holding a 32-bit integer");
		push_numeric(st, seq, v->val.string.val, v->val.string.len);
	}
	else if (key_is(&keys[0], "$numberLong"))
	{
		if (!is_string(v) ||
			!parse_integer(v->val.string.val, v->val.string.len, PG_INT64_MIN, PG_INT64_MAX, &number))
			malformed(st, "$numberLong", "a string holding a 64-bit integer");
		push_numeric(st, seq, v->val.string.val, v->val.string.len);
	}
	else if (key_is(&keys[0], "$numberDouble") || key_is(&keys[0], "$numberDecimal"))
	{
		const char *wrapper = key_is(&keys[0], "$numberDouble") ? "$numberDouble" : "$numberDecimal";

		if (!is_string(v))
			malformed(st, wrapper, "a string holding a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
		if (is_special_float(v->val.string.val, v->val.string.len))
			push_scalar(st, seq, v);
		else if (is_decimal(v->val.string.val, v->val.string.len))
			push_numeric(st, seq, v->val.string.val, v->val.string.len);
		else
			malformed(st, wrapper, "a string holding a number, \"NaN\", \"Infinity\" or \"-Infinity\" (exponents up to 1000)");
	}
	else if (key_is(&keys[0], "$binary"))
	{
		JsonbValue	bkeys[2];
		JsonbValue	bvalues[2];
		JsonbContainer *b = object_value(v);

		if (b == NULL || small_object_pairs(b, bkeys, bvalues) != 2 ||
			!pair(bkeys, bvalues, 2, "base64") || !pair(bkeys, bvalues, 2, "subType"))
			malformed(st, "$binary", "an object of \"base64\" and \"subType\"");
		convert_binary(st, seq, "$binary", pair(bkeys, bvalues, 2, "base64"),
					   pair(bkeys, bvalues, 2, "subType"));
	}
	else if (key_is(&keys[0], "$uuid"))
	{
		char	   *s = v->val.string.val;

		if (!is_string(v) || v->val.string.len != 36 || s[8] != '-' || s[13] != '-' ||
			s[18] != '-' || s[23] != '-' || !is_hex(s, 8) || !is_hex(s + 9, 4) ||
			!is_hex(s + 14, 4) || !is_hex(s + 19, 4) || !is_hex(s + 24, 12))
			malformed(st, "$uuid", "a UUID string of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
		push_string(st, seq, lower_copy(s, 36), 36);
	}
	else if (key_is(&keys[0], "$timestamp"))
	{
		JsonbValue	tkeys[2];
		JsonbValue	tvalues[2];
		JsonbContainer *t = object_value(v);

		if (t == NULL || small_object_pairs(t, tkeys, tvalues) != 2 ||
			!pair(tkeys, tvalues, 2, "t") || !pair(tkeys, tvalues, 2, "i") ||
			!numeric_integer(pair(tkeys, tvalues, 2, "t"), 0, UINT32_LIMIT, &number) ||
			!numeric_integer(pair(tkeys, tvalues, 2, "i"), 0, UINT32_LIMIT, &number))
			malformed(st, "$timestamp", "an object of \"t\" and \"i\", unsigned 32-bit integers");
		/* {"t": ..., "i": ...} is already plain JSON */
		if (seq == WJB_DONE)
			convert_value(st, WJB_DONE, v);
		else
			push(st, seq, v);
	}
	else if (key_is(&keys[0], "$regularExpression"))
	{
		JsonbValue	rkeys[2];
		JsonbValue	rvalues[2];
		JsonbContainer *r = object_value(v);

		if (r == NULL || small_object_pairs(r, rkeys, rvalues) != 2 ||
			!pair(rkeys, rvalues, 2, "pattern") || !pair(rkeys, rvalues, 2, "options"))
			malformed(st, "$regularExpression", "an object of \"pattern\" and \"options\" strings");
		convert_regex(st, seq, "$regularExpression", pair(rkeys, rvalues, 2, "pattern"),
					  pair(rkeys, rvalues, 2, "options"));
	}
	else if (key_is(&keys[0], "$minKey") || key_is(&keys[0], "$maxKey"))
	{
		bool		min = key_is(&keys[0], "$minKey");

		if (!numeric_integer(v, 1, 1, &number))
			malformed(st, min ? "$minKey" : "$maxKey", "1");
		push_string(st, seq, min ? "MinKey" : "MaxKey", 6);
	}
	else if (key_is(&keys[0], "$symbol") || key_is(&keys[0], "$code"))
	{
		if (!is_string(v))
			malformed(st, key_is(&keys[0], "$symbol") ? "$symbol" : "$code", "a string");
		push_scalar(st, seq, v);
	}
	else
		return false;
	st->changed = true;
	return true;
}

/* Push v, converting any wrapper in it; st->path names v */
static void
convert_value(EjsonState *st, JsonbIteratorToken seq, JsonbValue *v)
{
	JsonbContainer *c;
	JsonbIterator *it;
	JsonbValue	item;
	JsonbIteratorToken tok;
	int			path_len = st->path.len;
	int			index = 0;

	if (v->type != jbvBinary)
	{
		push_scalar(st, seq, v);
		return;
	}
	check_stack_depth();
	c = v->val.binary.data;
	if (JsonContainerIsObject(c) && convert_wrapper(st, seq, c))
	{
		st->path.len = path_len;
		st->path.data[path_len] = '\0';
		return;
	}

	it = JsonbIteratorInit(c);
	while ((tok = JsonbIteratorNext(&it, &item, true)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_OBJECT:
			case WJB_BEGIN_ARRAY:
			case WJB_END_OBJECT:
			case WJB_END_ARRAY:
				push(st, tok, NULL);
				break;
			case WJB_KEY:
				push(st, tok, &item);
				st->path.len = path_len;
				append_path_key(&st->path, item.val.string.val, item.val.string.len);
				break;
			case WJB_VALUE:
				convert_value(st, tok, &item);
				break;
			case WJB_ELEM:
				st->path.len = path_len;
				appendStringInfo(&st->path, "[%d]", index++);
				convert_value(st, tok, &item);
				break;
			case WJB_DONE:
				break;
		}
		st->path.data[st->path.len] = '\0';
	}
	st->path.len = path_len;
	st->path.data[path_len] = '\0';
}

/* Whether any object key in doc starts with '$' */
static bool
has_dollar_key(Jsonb *doc)
{
	JsonbIterator *it = JsonbIteratorInit(&doc->root);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
		if (tok == WJB_KEY && v.val.string.len > 0 && v.val.string.val[0] == '$')
			return true;
	return false;
}

Jsonb *
um_from_ejson(Jsonb *doc)
{
	EjsonState	st;
	JsonbValue	root;

	if (JB_ROOT_IS_SCALAR(doc) || !has_dollar_key(doc))
		return doc;

	st.parse = NULL;
	st.result = NULL;
	st.changed = false;
	initStringInfo(&st.path);
	appendStringInfoChar(&st.path, '$');
	root.type = jbvBinary;
	root.val.binary.data = &doc->root;
	root.val.binary.len = VARSIZE(doc) - VARHDRSZ;
	convert_value(&st, WJB_DONE, &root);
	return st.changed ? JsonbValueToJsonb(st.result) : doc;
}

/*
 * from_ejson(doc jsonb) RETURNS jsonb
 */
PG_FUNCTION_INFO_V1(from_ejson);
Datum
from_ejson(PG_FUNCTION_ARGS)
{
	Jsonb	   *doc = PG_GETARG_JSONB_P(0);
	Jsonb	   *plain = um_from_ejson(doc);

	if (plain == doc)
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	PG_RETURN_JSONB_P(plain);
}
