/* SPDX-License-Identifier: Apache-2.0 */
/* AWS's Signature Version 4 test suite (aws4_testsuite, as carried by botocore under
 * tests/unit/auth/aws4_testsuite; Apache-2.0): each request's data and its expected
 * Authorization. Key AKIDEXAMPLE, secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region
 * us-east-1, service "service", 20150830T123600Z. get-vanilla-with-session-token is left out:
 * its .req lacks the X-Amz-Security-Token header its .creq signs. */
struct sigv4_vector {
	const char *name;
	const char *method;
	const char *path;
	const char *query;
	struct sl_sigv4_header headers[8];
	size_t nheaders;
	const char *body;
	const char *authz;
};

static const struct sigv4_vector sigv4_vectors[] = {
	{
		.name = "get-header-key-duplicate",
		.method = "GET",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"My-Header1", "value2"},
				{"My-Header1", "value2"},
				{"My-Header1", "value1"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 5,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;my-header1;x-amz-date, "
			 "Signature="
			 "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
	},
	{
		.name = "get-header-value-multiline",
		.method = "GET",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"My-Header1", "value1\n  value2\n     value3"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 3,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;my-header1;x-amz-date, "
			 "Signature="
			 "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd",
	},
	{
		.name = "get-header-value-order",
		.method = "GET",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"My-Header1", "value4"},
				{"My-Header1", "value1"},
				{"My-Header1", "value3"},
				{"My-Header1", "value2"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 6,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;my-header1;x-amz-date, "
			 "Signature="
			 "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
	},
	{
		.name = "get-header-value-trim",
		.method = "GET",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"My-Header1", " value1"},
				{"My-Header2", " \"a   b   c\""},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 4,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
			 "Signature="
			 "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
	},
	{
		.name = "get-unreserved",
		.method = "GET",
		.path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
	},
	{
		.name = "get-utf8",
		.method = "GET",
		.path = "/\341\210\264",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
	},
	{
		.name = "get-vanilla-empty-query-key",
		.method = "GET",
		.path = "/",
		.query = "Param1=value1",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
	},
	{
		.name = "get-vanilla-query-order-encoded",
		.method = "GET",
		.path = "/",
		.query = "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
	},
	{
		.name = "get-vanilla-query-order-key-case",
		.method = "GET",
		.path = "/",
		.query = "Param2=value2&Param1=value1",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
	},
	{
		.name = "get-vanilla-query-order-key",
		.method = "GET",
		.path = "/",
		.query = "Param1=value2&Param1=Value1",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
	},
	{
		.name = "get-vanilla-query-order-value",
		.method = "GET",
		.path = "/",
		.query = "Param1=value2&Param1=value1",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
	},
	{
		.name = "get-vanilla-query-unreserved",
		.method = "GET",
		.path = "/",
		.query = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~"
			 "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
	},
	{
		.name = "get-vanilla-query",
		.method = "GET",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	},
	{
		.name = "get-vanilla-utf8-query",
		.method = "GET",
		.path = "/",
		.query = "\341\210\264=bar",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
	},
	{
		.name = "get-vanilla",
		.method = "GET",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	},
	{
		.name = "get-relative-relative",
		.method = "GET",
		.path = "/example1/example2/../..",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	},
	{
		.name = "get-relative",
		.method = "GET",
		.path = "/example/..",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	},
	{
		.name = "get-slash-dot-slash",
		.method = "GET",
		.path = "/./",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	},
	{
		.name = "get-slash-pointless-dot",
		.method = "GET",
		.path = "/./example",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
	},
	{
		.name = "get-slash",
		.method = "GET",
		.path = "//",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	},
	{
		.name = "get-slashes",
		.method = "GET",
		.path = "//example//",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
	},
	{
		.name = "get-space",
		.method = "GET",
		.path = "/example space/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
	},
	{
		.name = "get-special-character",
		.method = "GET",
		.path = "/example/$delete",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27",
	},
	{
		.name = "post-header-key-case",
		.method = "POST",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	},
	{
		.name = "post-header-key-sort",
		.method = "POST",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"My-Header1", "value1"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 3,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;my-header1;x-amz-date, "
			 "Signature="
			 "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
	},
	{
		.name = "post-header-value-case",
		.method = "POST",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"My-Header1", "VALUE1"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 3,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;my-header1;x-amz-date, "
			 "Signature="
			 "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
	},
	{
		.name = "post-sts-header-after",
		.method = "POST",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	},
	{
		.name = "post-sts-header-before",
		.method = "POST",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
				{"X-Amz-Security-Token",
				 "AQoDYXdzEPT//////////"
				 "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRX"
				 "mxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/"
				 "kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSX"
				 "Dvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+"
				 "xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
				 "scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/"
				 "oLxBA=="},
			},
		.nheaders = 3,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date;x-amz-security-token, "
			 "Signature="
			 "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
	},
	{
		.name = "post-vanilla-empty-query-value",
		.method = "POST",
		.path = "/",
		.query = "Param1=value1",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
	},
	{
		.name = "post-vanilla-query",
		.method = "POST",
		.path = "/",
		.query = "Param1=value1",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
	},
	{
		.name = "post-vanilla",
		.method = "POST",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 2,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	},
	{
		.name = "post-x-www-form-urlencoded-parameters",
		.method = "POST",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Content-Type", "application/x-www-form-urlencoded; charset=utf8"},
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 3,
		.body = "Param1=value1",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=content-type;host;x-amz-date, "
			 "Signature="
			 "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
	},
	{
		.name = "post-x-www-form-urlencoded",
		.method = "POST",
		.path = "/",
		.query = "",
		.headers =
			{
				{"Content-Type", "application/x-www-form-urlencoded"},
				{"Host", "example.amazonaws.com"},
				{"X-Amz-Date", "20150830T123600Z"},
			},
		.nheaders = 3,
		.body = "Param1=value1",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=content-type;host;x-amz-date, "
			 "Signature="
			 "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
	},
};

/* Requests the real boto3 lambda client signed (endpoint http://127.0.0.1:7480), captured
 * before sending (a before-send hook), with key AKIASANDLOTTEST00001 and BOTO_SECRET: Debian's
 * python3-boto3 1.26 (botocore 1.29) and boto3 1.43; where the client leaves Host to urllib3,
 * the Host header it sends is added. */
#define BOTO_SECRET "sandlot/test+Secret0123456789abcdefghijklm"
static const struct sigv4_vector boto_vectors[] = {
	{
		.name = "boto3-1.26-invoke-arn-qualifier",
		.method = "POST",
		.path = "/2015-03-31/functions/"
			"arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
			"invocations",
		.query = "Qualifier=%24LATEST",
		.headers =
			{
				{"User-Agent", "Boto3/1.26.27 Python/3.11.2 Linux/6.18.44-fc-v1300 "
					       "awscrt/1.0.0.dev0 Botocore/1.29.27"},
				{"host", "127.0.0.1:7480"},
				{"X-Amz-Date", "20261207T181915Z"},
				{"amz-sdk-invocation-id", "fc09fbd5-8f1e-4036-99f8-230e3de08dbf"},
				{"amz-sdk-request", "attempt=1"},
				{"Content-Length", "21"},
			},
		.nheaders = 6,
		.body = "{\"hello\": \"world  x\"}",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIASANDLOTTEST00001/20261207/us-east-1/lambda/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "c11e96217a1b4d4973e4b01cca6ecac50aa7af57c26ba758d635d85e17b1342d",
	},
	{
		.name = "boto3-1.26-list-functions-marker",
		.method = "GET",
		.path = "/2015-03-31/functions/",
		.query = "MaxItems=5&Marker=abc%20def%2F%2B",
		.headers =
			{
				{"User-Agent", "Boto3/1.26.27 Python/3.11.2 Linux/6.18.44-fc-v1300 "
					       "awscrt/1.0.0.dev0 Botocore/1.29.27"},
				{"host", "127.0.0.1:7480"},
				{"X-Amz-Date", "20261207T181915Z"},
				{"amz-sdk-invocation-id", "b1e93d41-6569-411b-9f94-b97b519e30c5"},
				{"amz-sdk-request", "attempt=1"},
			},
		.nheaders = 5,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIASANDLOTTEST00001/20261207/us-east-1/lambda/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "4b7dbde79ce1e91e38621287ddbcd0d0ff861746eade7f1289506b1fb3b43583",
	},
	{
		.name = "boto3-1.43-invoke-arn-qualifier",
		.method = "POST",
		.path = "/2015-03-31/functions/"
			"arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
			"invocations",
		.query = "Qualifier=%24LATEST",
		.headers =
			{
				{"Host", "127.0.0.1:7480"},
				{"User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 "
					       "os/linux#6.18.44-fc-v1300 md/arch#x86_64 "
					       "lang/python#3.11.7 md/pyimpl#CPython m/D,e,Z,b,N "
					       "cfg/retry-mode#legacy Botocore/1.43.11"},
				{"X-Amz-Date", "20261207T181915Z"},
				{"amz-sdk-invocation-id", "67513a02-6a6b-403e-8819-457bef4fc696"},
				{"amz-sdk-request", "attempt=1"},
				{"Content-Length", "21"},
			},
		.nheaders = 6,
		.body = "{\"hello\": \"world  x\"}",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIASANDLOTTEST00001/20261207/us-east-1/lambda/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "c11e96217a1b4d4973e4b01cca6ecac50aa7af57c26ba758d635d85e17b1342d",
	},
	{
		.name = "boto3-1.43-list-functions-marker",
		.method = "GET",
		.path = "/2015-03-31/functions",
		.query = "MaxItems=5&Marker=abc%20def%2F%2B",
		.headers =
			{
				{"Host", "127.0.0.1:7480"},
				{"User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 "
					       "os/linux#6.18.44-fc-v1300 md/arch#x86_64 "
					       "lang/python#3.11.7 md/pyimpl#CPython m/D,e,Z,b,N "
					       "cfg/retry-mode#legacy Botocore/1.43.11"},
				{"X-Amz-Date", "20261207T181915Z"},
				{"amz-sdk-invocation-id", "eba0286b-cc27-455b-9cb8-d3db13ae5521"},
				{"amz-sdk-request", "attempt=1"},
			},
		.nheaders = 5,
		.body = "",
		.authz = "AWS4-HMAC-SHA256 "
			 "Credential=AKIASANDLOTTEST00001/20261207/us-east-1/lambda/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature="
			 "aa242538c3a8dca6d61d00ed62f31c2e10c600e59185e4c56fd6d500a447ab3f",
	},
};
