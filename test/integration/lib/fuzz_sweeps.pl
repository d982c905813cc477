#!/usr/bin/perl
# Deterministic fuzz input for zixly's trading-sweep validation (used by ext_fuzz.t).
#
#   fuzz_sweeps.pl SEED COUNT BATCHES SQL_OUT EXPECT_OUT
#
# Writes a psql script that sends COUNT parameter documents to zixly_enqueue('trading-sweep', ...)
# (and zixly_validate) and BATCHES arrays of them to zixly_enqueue_batch, one statement each,
# echoing "R|B <n> <SQLSTATE> <combinations or job count>" after each; and the expectations,
# "R|B <n> <allowed SQLSTATEs, |-separated> <combinations or job count, or ->", one per line.
#
# Documents are built as values (last key wins, like jsonb), judged by an independent oracle of
# the rules in DESIGN.md / issue 2, then written out with random but meaning-preserving syntax
# (whitespace, \u escapes, 10 as 10.0 / 1e1 / 100e-1, decoy duplicate keys). A share of them is
# then broken on purpose: truncated, syntax errors, \u0000, lone surrogates, raw control
# characters, invalid UTF-8, numbers beyond numeric, 10,000- and 200,000-level nesting, garbage.
use strict;
use warnings;
use Encode qw(encode_utf8);

my ($seed, $count, $batches, $sql_out, $expect_out) = @ARGV;
die "usage: $0 SEED COUNT BATCHES SQL_OUT EXPECT_OUT\n" unless defined $expect_out;
srand($seed);

my $VALID = '00000';
my $INVALID = '22023';
my $SYNTAX = '22P02';

sub pick { $_[int(rand(@_))] }
sub chance { rand() < $_[0] }

# ------------------------------------------------------------------ values
# Typed values, so the writer controls the syntax: [num => 'text'], [str => 'chars'],
# [arr => [...]], [obj => [[k, v], ...]], [bool => 0|1], ['null'].
sub num { [num => $_[0]] }
sub str { [str => $_[0]] }
sub arr { [arr => [@_]] }

# An integer written in one of the forms that mean exactly that integer.
sub int_text {
	my ($k) = @_;
	my $f = int(rand(10));
	return "$k" if $f < 5;
	return "$k.0" if $f == 5;
	return "$k.000" if $f == 6;
	return "${k}0e-1" if $f == 7;
	return "${k}E0" if $f == 8;
	return "${k}e+0";
}
sub int_num { num(int_text($_[0])) }

sub rand_int { my ($lo, $hi) = @_; $lo + int(rand($hi - $lo + 1)) }

my @ticker_chars = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', split //, '.-_^=/');
sub valid_ticker { join '', map { pick(@ticker_chars) } 1 .. rand_int(1, chance(0.1) ? 20 : 6) }

my @odd_strings = ('', ' ', 'AA PL', "A\tB", "caf\x{e9}", "\x{1F600}", "\x{4E2D}\x{6587}", 'A"B', 'A\\B',
	'A$B', "A\nB", "\x{7f}", "\x{202E}RTL", 'x' x 21, 'y' x 300, "\x{FEFF}A", "A\x{0301}");
sub odd_value {
	my $f = int(rand(9));
	return str(pick(@odd_strings)) if $f == 0;
	return num(pick('0', '-1', '1e400', '-1e400', '1e-400', '10.5', '-0', '123456789012345678901234567890', '1E10')) if $f == 1;
	return ['null'] if $f == 2;
	return [bool => int(rand(2))] if $f == 3;
	return arr() if $f == 4;
	return arr(int_num(10), int_num(20)) if $f == 5;
	return [obj => [['a', num('1')]]] if $f == 6;
	return str(pick('10', '5', 'SMA', 'https://example.com')) if $f == 7;
	return arr(str('AAPL'));
}

# range [a, b]: mostly valid; [valid?, a, b]
sub range_value {
	if (chance(0.85)) {
		my $hi = chance(0.05) ? 10000 : 300;
		my $a = rand_int(1, $hi);
		my $b = rand_int($a, $hi);
		$b = $a + rand_int(0, 40) if $b - $a > 200 && !chance(0.2);
		$b = 10000 if $b > 10000;
		return (1, $a, $b, arr(int_num($a), int_num($b)));
	}
	my $f = int(rand(8));
	return (0, 0, 0, arr(int_num(20), int_num(10))) if $f == 0;
	return (0, 0, 0, arr(int_num(rand_int(1, 50)))) if $f == 1;
	return (0, 0, 0, arr(int_num(1), int_num(2), int_num(3))) if $f == 2;
	return (0, 0, 0, arr(num(pick('0', '-3', '10001', '1e400', '1e-400', '10.5', '-0')), int_num(50))) if $f == 3;
	return (0, 0, 0, arr(int_num(5), num(pick('0', '10001', '99999999999999999999', '7.25', '2e4')))) if $f == 4;
	return (0, 0, 0, arr(str('10'), int_num(20))) if $f == 5;
	return (0, 0, 0, arr(['null'], int_num(20))) if $f == 6;
	return (0, 0, 0, odd_value());
}

# Pairs (f, s) of the two grids with f < s: for each f, the slow values above it.
sub grid_count {
	my ($flo, $fhi, $slo, $shi, $step) = @_;
	my $n = 0;
	my $slow_values = int(($shi - $slo) / $step) + 1;
	for (my $f = $flo; $f <= $fhi; $f += $step) {
		my $below = $f < $slo ? 0 : int(($f - $slo) / $step) + 1;	# slow values <= f
		$n += $slow_values - $below if $below < $slow_values;
	}
	return $n;
}

# ------------------------------------------------------------------ the oracle
# The exact number a JSON number text means, as [negative, integer digits, fraction digits]
# (no leading or trailing zeros; zero is [0, '', '']), or undef for a non-number.
sub exact {
	my ($v) = @_;
	return undef unless $v->[0] eq 'num';
	my ($neg, $int, $frac, $exp) = $v->[1] =~ /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/ or die "bad number $v->[1]\n";
	my $digits = $int . ($frac // '');
	my $point = length($int) + ($exp // 0);	# decimal point after this many digits
	if ($point < 0) { $digits = ('0' x -$point) . $digits; $point = 0 }
	$digits .= '0' x ($point - length($digits)) if $point > length($digits);
	my ($i, $f) = (substr($digits, 0, $point), substr($digits, $point));
	$i =~ s/^0+//;
	$f =~ s/0+$//;
	return [($neg && ($i ne '' || $f ne '')) ? 1 : 0, $i, $f];
}
# compares a non-negative exact number with a non-negative integer: -1, 0 or 1
sub cmp_int {
	my ($x, $n) = @_;
	my ($i, $f) = @{$x}[1, 2];
	$n = "$n" eq '0' ? '' : "$n";
	return length($i) <=> length($n) || $i cmp $n || ($f ne '' ? 1 : 0);
}
sub is_num_in {
	my ($v, $lo, $hi) = @_;	# 0 <= lo <= hi, integers
	my $x = exact($v);
	return defined $x && !$x->[0] && cmp_int($x, $lo) >= 0 && cmp_int($x, $hi) <= 0;
}
sub is_int_in {
	my ($v, $lo, $hi) = @_;
	my $x = exact($v);
	return defined $x && $x->[2] eq '' && is_num_in($v, $lo, $hi);
}
sub int_value { my $x = exact($_[0]); $x->[1] eq '' ? 0 : $x->[1] + 0 }	# for values known in range
sub is_str_of { my ($v, @ok) = @_; $v->[0] eq 'str' && grep { $_ eq $v->[1] } @ok }
sub ticker_ok {
	my ($v) = @_;
	return 0 unless $v->[0] eq 'str';
	my $bytes = encode_utf8($v->[1]);
	return length($bytes) >= 1 && length($bytes) <= 20 && $bytes =~ m{^[A-Za-z0-9.\-_^=/]+$};
}
sub url_ok {
	my ($v) = @_;
	return 0 unless $v->[0] eq 'str';
	my $s = encode_utf8($v->[1]);
	return 0 if length($s) > 2048;
	my $scheme = (length($s) > 7 && $s =~ m{^http://}i) ? 7 : (length($s) > 8 && $s =~ m{^https://}i) ? 8 : 0;
	return 0 unless $scheme;
	return 0 if substr($s, $scheme, 1) =~ m{^[/?#]$};
	return $s !~ /[\x00-\x20\x7f]/;
}
sub range_of {
	my ($v) = @_;
	return () unless $v->[0] eq 'arr' && @{$v->[1]} == 2;
	my ($a, $b) = @{$v->[1]};
	return () unless is_int_in($a, 1, 10000) && is_int_in($b, 1, 10000);
	my ($x, $y) = (int_value($a), int_value($b));
	return $x <= $y ? ($x, $y) : ();
}

my %known = map { $_ => 1 } qw(ticker strategy_type fast_range slow_range step min_trades signal_period
	fee_bps periods_per_year objective webhook_url);

# Judges a document value: (SQLSTATE, combinations).
sub judge {
	my ($doc) = @_;
	return ($INVALID, '-') unless $doc->[0] eq 'obj';
	my %p;
	$p{$_->[0]} = $_->[1] for @{$doc->[1]};	# last key wins
	my $ok = 1;
	$known{$_} or $ok = 0 for keys %p;
	$ok = 0 unless $p{ticker} && ticker_ok($p{ticker});
	$ok = 0 unless $p{strategy_type} && is_str_of($p{strategy_type}, qw(SMA EMA MACD));
	my @f = $p{fast_range} ? range_of($p{fast_range}) : ();
	my @s = $p{slow_range} ? range_of($p{slow_range}) : ();
	my $step_ok = $p{step} && is_int_in($p{step}, 1, 1000);
	my $combos = '-';
	if (@f && @s && $step_ok) {
		$combos = grid_count(@f, @s, int_value($p{step}));
		$ok = 0 if $combos == 0 || $combos > 250000;
	} else {
		$ok = 0;
	}
	$ok = 0 if exists $p{min_trades} && !is_int_in($p{min_trades}, 0, 1000000);
	$ok = 0 if exists $p{signal_period} && !is_int_in($p{signal_period}, 1, 1000);
	$ok = 0 if exists $p{fee_bps} && !is_num_in($p{fee_bps}, 0, 1000);
	$ok = 0 if exists $p{periods_per_year} && !is_int_in($p{periods_per_year}, 1, 100000);
	$ok = 0 if exists $p{objective} && !is_str_of($p{objective},
		qw(sharpe_ratio sortino_ratio total_return_pct max_drawdown_pct profit_factor win_rate_pct));
	$ok = 0 if exists $p{webhook_url} && !url_ok($p{webhook_url});
	return $ok ? ($VALID, $combos) : ($INVALID, '-');
}

# ------------------------------------------------------------------ documents
my @unknown_keys = ('tickr', 'Ticker', 'STEP', 'fast-range', 'slowRange', "t\x{ef}cker", "\x{1F4C8}", '', ' ',
	'__proto__', 'constructor', 'ticker ', "step\n", 'x' x 1000, 'k' x 10000, 'a"b', 'a\\b', "\x{1}x", 'signal');

sub make_doc {
	my @pairs;
	push @pairs, [ticker => chance(0.9) ? str(valid_ticker()) : odd_value()] unless chance(0.03);
	push @pairs, [strategy_type => chance(0.92) ? str(pick(qw(SMA EMA MACD)))
		: str(pick('sma', 'Ema', 'MACD ', 'RSI', '', "SM\x{410}"))] unless chance(0.03);
	my ($fv, $fa, $fb, $fr) = range_value();
	my ($sv, $sa, $sb, $sr) = range_value();
	# slow above fast most of the time, so that many documents are valid
	if ($fv && $sv && chance(0.7)) {
		$sa = rand_int($fa, $fa + 100);
		$sb = rand_int($sa, $sa + 100);
		($sa, $sb) = (10000, 10000) if $sa > 10000 || $sb > 10000;
		$sr = arr(int_num($sa), int_num($sb));
	}
	push @pairs, [fast_range => $fr] unless chance(0.03);
	push @pairs, [slow_range => $sr] unless chance(0.03);
	push @pairs, [step => chance(0.9) ? int_num(pick(1, 1, 2, 5, 5, 10, rand_int(1, 1000)))
		: pick(num('0'), num('-0'), num('1001'), num('2.5'), str('5'), ['null'], num('1e400'), arr(int_num(5)))]
		unless chance(0.03);
	push @pairs, [min_trades => chance(0.8) ? int_num(rand_int(0, 1000000)) : pick(num('-1'), num('1.5'), str('3'), num('1000001'))]
		if chance(0.3);
	push @pairs, [signal_period => chance(0.8) ? int_num(rand_int(1, 1000)) : pick(num('0'), num('1001'), num('9.5'), ['null'])]
		if chance(0.3);
	push @pairs, [fee_bps => chance(0.8) ? num(pick('0', '1000', '2.5', '0.001', '1e-400', '999.999', rand_int(0, 1000)))
		: pick(num('-0.01'), num('1000.5'), num('10000'), num('1e400'), str('5'))] if chance(0.3);
	push @pairs, [periods_per_year => chance(0.8) ? int_num(pick(252, 365, 1, 100000)) : pick(num('0'), num('100001'), num('252.5'))]
		if chance(0.2);
	push @pairs, [objective => chance(0.8) ? str(pick(qw(sharpe_ratio sortino_ratio total_return_pct max_drawdown_pct
		profit_factor win_rate_pct))) : str(pick('sharpe', 'SHARPE_RATIO', ''))] if chance(0.2);
	push @pairs, [webhook_url => chance(0.7) ? str(pick('https://example.com/hook', 'http://h', 'HTTPS://X.Y/a?b=c#d',
		'https://' . ('a' x 2000))) : str(pick('ftp://x', 'https://', 'http:///x', 'https://a b', "https://a\tb",
		'https://' . ('a' x 2041), 'example.com', "https://\x{e9}x"))] if chance(0.2);
	push @pairs, [pick(@unknown_keys) => odd_value()] if chance(0.08);
	@pairs = sort { rand() <=> 0.5 } @pairs if chance(0.5);
	# a decoy: the same key earlier with another value (jsonb keeps the last)
	if (@pairs && chance(0.05)) {
		my $k = pick(@pairs)->[0];
		unshift @pairs, [$k => odd_value()];
	}
	return [obj => \@pairs];
}

# ------------------------------------------------------------------ writing JSON
sub ws { chance(0.8) ? '' : pick(' ', '  ', "\n", "\t", "\r\n", ' ' x 5) }

sub write_str {
	my ($s) = @_;
	my $out = '"';
	for my $ch (split //, $s) {
		my $o = ord($ch);
		if ($ch eq '"') { $out .= '\\"' }
		elsif ($ch eq '\\') { $out .= chance(0.8) ? '\\\\' : '\\u005c' }
		elsif ($ch eq '$') { $out .= '\\u0024' }	# keeps the dollar quote intact
		elsif ($o == 0) { $out .= '\\u0000' }
		elsif ($o < 0x20 || $o == 0x7f) {
			my %short = (8 => '\\b', 9 => '\\t', 10 => '\\n', 12 => '\\f', 13 => '\\r');
			$out .= ($short{$o} && chance(0.5)) ? $short{$o} : sprintf('\\u%04x', $o);
		}
		elsif ($o > 0xffff) {
			if (chance(0.5)) { $out .= $ch }
			else {
				my $v = $o - 0x10000;
				$out .= sprintf('\\u%04X\\u%04x', 0xd800 + ($v >> 10), 0xdc00 + ($v & 0x3ff));
			}
		}
		elsif ($o > 0x7f) { $out .= chance(0.5) ? $ch : sprintf('\\u%04x', $o) }
		else { $out .= chance(0.05) ? sprintf('\\u%04X', $o) : ($ch eq '/' && chance(0.3) ? '\\/' : $ch) }
	}
	return $out . '"';
}

sub write_json {
	my ($v) = @_;
	my $t = $v->[0];
	return ws() . $v->[1] . ws() if $t eq 'num';
	return ws() . write_str($v->[1]) . ws() if $t eq 'str';
	return ws() . ($v->[1] ? 'true' : 'false') . ws() if $t eq 'bool';
	return ws() . 'null' . ws() if $t eq 'null';
	return ws() . '[' . join(',', map { write_json($_) } @{$v->[1]}) . ']' . ws() if $t eq 'arr';
	return ws() . '{' . join(',', map { ws() . write_str($_->[0]) . ws() . ':' . write_json($_->[1]) } @{$v->[1]}) . '}' . ws();
}

# ------------------------------------------------------------------ breaking JSON
# Returns (text, allowed SQLSTATEs) for a deliberately broken or hostile document. The text is
# bytes (it may be invalid UTF-8 on purpose).
my $CLEAN = join '|', $SYNTAX, $INVALID, '22P05', '54001', '22003', '22021';
sub broken {
	my ($good) = @_;	# a valid-looking document, as bytes
	my $f = int(rand(22));
	if ($f <= 3) {	# truncated anywhere before its closing brace
		my $end = rindex($good, '}');
		return (substr($good, 0, int(rand($end))), "$SYNTAX|22021");	# 22021: cut inside a UTF-8 character
	}
	return ($good =~ s/\}\s*$/,}/r, $SYNTAX) if $f == 4;	# trailing comma
	return ($good =~ s/"ticker"/ticker/r, $SYNTAX) if $f == 5 && $good =~ /"ticker"/;	# unquoted key
	return ($good =~ s/"step"\s*:\s*[^,}]+/"step": NaN/r, $SYNTAX) if $f == 6 && $good =~ /"step"/;
	return ($good =~ s/"step"\s*:\s*[^,}]+/"step": Infinity/r, $SYNTAX) if $f == 7 && $good =~ /"step"/;
	return ($good =~ s/"step"\s*:\s*[^,}]+/"step": 05/r, $SYNTAX) if $f == 8 && $good =~ /"step"/;
	return ($good =~ s/"step"\s*:\s*[^,}]+/"step": pick/r, $SYNTAX) if $f == 9 && $good =~ /"step"/;
	return ('{"ticker": "A\\u0000B"}', '22P05') if $f == 10;
	return ('{"ticker": "\\ud800"}', $SYNTAX) if $f == 11;
	return ('{"ticker": "\\udc00x"}', $SYNTAX) if $f == 12;
	return ('{"ticker": "\\x41"}', $SYNTAX) if $f == 13;
	return ("{\"ticker\": \"A" . chr(rand_int(1, 31)) . "B\"}", $SYNTAX) if $f == 14;
	return ($good . ' {}', $SYNTAX) if $f == 15;
	return ("{\"ticker\": \"A\xff\xfeB\"}", '22021') if $f == 16;
	return ("{\"ticker\": \"\xc3\"}", '22021') if $f == 17;
	return ('{"step": 1e' . rand_int(140000, 2000000) . '}', '22003') if $f == 18;
	return (pick('', ' ', "\n", '{', '}', '[', '{"', '{"ticker"', '{"ticker":', "{'ticker': 'A'}", '{"a":1}//c',
		'/* c */ {}', '{"a" 1}', '{,}', '[1,]', '.5', '+1', '1.', '-', '1e', '"abc', 'tru', 'nul', '{"a":[}', "\\"),
		$f == 19 ? $SYNTAX : $CLEAN) if $f <= 20;
	# random printable garbage, whatever it parses to
	my @c = map { chr } (32 .. 35, 37 .. 126);
	return (join('', map { pick(@c, '{', '}', '[', ']', '"', ':', ',') } 1 .. rand_int(1, 80)), $CLEAN);
}

# Hostile but well-formed: scalars, arrays, deep nesting, huge documents.
sub hostile {
	my $f = int(rand(10));
	return (pick('5', '"AAPL"', 'null', 'true', '[]', '[{}]', '-0', '1e400', '""'), $INVALID) if $f <= 2;
	return ('[' . write_json(make_doc()) . ']', $INVALID) if $f == 3;
	return ('{"ticker": ' . ('[' x 10000) . (']' x 10000) . '}', "$INVALID|54001") if $f == 4;
	return (('{"a":' x 10000) . '1' . ('}' x 10000), "$INVALID|54001") if $f == 5;
	return (('[' x 200000) . (']' x 200000), "54001|$INVALID") if $f == 6;
	return ('{"ticker": "' . ('A' x rand_int(270000, 400000)) . '"}', $INVALID) if $f == 7;
	return ('{' . join(',', map { "\"k$_\": $_" } 1 .. 30000) . '}', $INVALID) if $f == 8;
	return ('{"' . ('k' x 300000) . '": 1}', $INVALID);
}

# ------------------------------------------------------------------ the script
open my $sql, '>:raw', $sql_out or die "$sql_out: $!";
open my $exp, '>:raw', $expect_out or die "$expect_out: $!";
print $sql "\\set ON_ERROR_STOP off\n\\set VERBOSITY terse\nSET synchronous_commit = off;\n";
for my $n (1 .. $count) {
	my $doc = make_doc();
	my ($state, $combos) = judge($doc);
	my $text = encode_utf8(write_json($doc));
	my $r = rand();
	if ($r < 0.17) { ($text, $state) = broken($text); $combos = '-' }
	elsif ($r < 0.20) { ($text, $state) = hostile(); $combos = '-' }
	die "generator bug: \$ in document $n\n" if $text =~ /\$/;
	print $sql "\\set c -\n",
		"SELECT zixly_validate('trading-sweep', d)->>'combinations' AS c, (zixly_enqueue('trading-sweep', d)).id IS NOT NULL AS made\n",
		"  FROM (SELECT \$zxf\$$text\$zxf\$::jsonb AS d) s \\gset\n",
		"\\echo R $n :SQLSTATE :c\n";
	print $exp "R $n $state $combos\n";
}
for my $n (1 .. $batches) {
	# mostly valid elements, so that whole batches succeed too
	my @docs = map {
		my $d = make_doc();
		if (chance(0.85)) { for (1 .. 30) { last if (judge($d))[0] eq $VALID; $d = make_doc() } }
		$d
	} 1 .. rand_int(1, 6);
	my @states = map { (judge($_))[0] } @docs;
	my $text = '[' . join(',', map { encode_utf8(write_json($_)) } @docs) . ']';
	my ($state, $jobs) = (grep { $_ ne $VALID } @states) ? ($INVALID, '-') : ($VALID, scalar @docs);
	if (chance(0.1)) { $text = substr($text, 0, int(rand(length($text) - 1))); ($state, $jobs) = ("$SYNTAX|22021", '-') }
	elsif (chance(0.03)) { ($text, $state, $jobs) = ('[]', $INVALID, '-') }
	print $sql "\\set c -\n",
		"SELECT count(*) AS c FROM zixly_enqueue_batch('trading-sweep', \$zxf\$$text\$zxf\$::jsonb) \\gset\n",
		"\\echo B $n :SQLSTATE :c\n";
	print $exp "B $n $state $jobs\n";
}
close $sql or die;
close $exp or die;
